//! One scenario from start to report.
//!
//! 1. Start (or attach to) the system; log every demo user in.
//! 2. Start the workload, the `/api/status` poller (every 500 ms) and the progress display.
//! 3. For each phase: enter it (requests started from now, or still in flight, count for it), run its actions in
//!    order, then wait out the rest of its duration (a phase whose actions take longer
//!    lasts longer).
//! 4. Stop the workload, wait for what is in flight, read every acknowledged write back,
//!    stop the system, and judge.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::progress::{Live, Progress};
use crate::report::{self, ActionReport, Collected, ScenarioReport, StatusPoll};
use crate::scenario::{Action, Scenario};
use crate::system::{System, SystemOptions};
use crate::workload::ledger::Ledger;
use crate::workload::tokens::{Tokens, WRITER};
use crate::workload::{Clock, Sample, Workload};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The CI version (each phase's `short`, the `short_rate`).
    pub short: bool,
    pub system: SystemOptions,
    /// Progress on stderr.
    pub progress: bool,
}

impl RunOptions {
    pub fn new(tis_exe: PathBuf) -> RunOptions {
        RunOptions {
            short: true,
            system: SystemOptions {
                tis_exe,
                attach: None,
                keep: false,
            },
            progress: false,
        }
    }
}

const STATUS_EVERY: Duration = Duration::from_millis(500);

/// Runs `scenario` and reports. An error means it could not be run at all; missed
/// expectations are in the report.
pub async fn run_scenario(
    scenario: &Scenario,
    opts: &RunOptions,
) -> anyhow::Result<ScenarioReport> {
    let progress = Progress::new(opts.progress, &scenario.name);
    progress.say(&format!(
        "{} ({} version): starting the system",
        scenario.summary,
        if opts.short { "short" } else { "full" }
    ));
    let mut system = tokio::select! {
        started = System::start(&scenario.system, &opts.system) => {
            started.context("starting the system")?
        }
        // Dropped half-started: our tis up is killed, and its children follow it.
        () = interrupted() => anyhow::bail!("interrupted"),
    };
    // Ctrl-C or SIGTERM: stop the load, undo the faults (SIGCONT, holds) and stop the system,
    // rather than leave a frozen or held process behind.
    let result = tokio::select! {
        r = drive(scenario, opts, &mut system, &progress) => r,
        () = interrupted() => Err(anyhow::anyhow!("interrupted")),
    };
    let failed = !result.as_ref().is_ok_and(|r| r.passed);
    let kept = if failed && !opts.system.keep {
        system.up.keep_folder();
        system.up.folder().map(|f| f.display().to_string())
    } else if opts.system.keep {
        system.up.folder().map(|f| f.display().to_string())
    } else {
        None
    };
    progress.say("stopping the system");
    system.stop().await;
    let mut report = result?;
    report.kept = kept;
    Ok(report)
}

async fn drive(
    scenario: &Scenario,
    opts: &RunOptions,
    system: &mut System,
    progress: &Progress,
) -> anyhow::Result<ScenarioReport> {
    let plan = scenario.plan(opts.short);
    let rate = scenario.rate(opts.short);
    let endpoints = system.endpoints();
    let spec = scenario.workload.clone();
    let http = reqwest::Client::builder()
        .timeout(spec.request_timeout)
        .connect_timeout(Duration::from_secs(2))
        .pool_max_idle_per_host(64)
        .build()?;
    let tokens = Arc::new(Tokens::new(http.clone(), &endpoints.issuer));
    tokens
        .refresh_all_within(Duration::from_secs(30))
        .await
        .context("logging the demo users in")?;
    let ledger = Arc::new(Ledger::new());
    if spec.mix.post_placements + spec.mix.place + spec.mix.close > 0 {
        ledger
            .placements
            .prepare(&http, &endpoints.entry, &tokens.get(WRITER))
            .await
            .context("reading the demo posts and placements")?;
    }
    let clock = Arc::new(Clock::default());
    let workload = Arc::new(Workload::new(
        http.clone(),
        endpoints.entry.clone(),
        endpoints.issuer.clone(),
        tokens.clone(),
        ledger.clone(),
        spec.clone(),
        clock.clone(),
    ));
    let live = Arc::new(Live::default());
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();

    let (stop_tx, stop_rx) = watch::channel(false);
    let (samples_tx, mut samples_rx) = mpsc::unbounded_channel::<Sample>();
    clock.enter(0);
    let collector = {
        let live = live.clone();
        tokio::spawn(async move {
            let mut all = Vec::new();
            while let Some(s) = samples_rx.recv().await {
                live.record(&s);
                all.push(s);
            }
            all
        })
    };
    let grace = spec.request_timeout + spec.write_retry_for;
    let driver = tokio::spawn(
        workload
            .clone()
            .drive(rate, stop_rx.clone(), samples_tx, grace),
    );
    let poller = tokio::spawn(poll_status(
        http.clone(),
        endpoints.entry.clone(),
        clock.clone(),
        live.clone(),
        stop_rx.clone(),
    ));
    let refresher = tokio::spawn(refresh_tokens(tokens.clone(), stop_rx.clone()));
    let shown = tokio::spawn(progress.clone().run(
        live.clone(),
        clock.clone(),
        plan.iter().map(|p| (p.name.clone(), p.duration)).collect(),
        stop_rx.clone(),
    ));

    let mut durations = Vec::new();
    let mut starts = Vec::new();
    let mut actions = Vec::new();
    for (i, phase) in plan.iter().enumerate() {
        clock.enter(i);
        let entered = Instant::now();
        starts.push(clock.since_start());
        progress.say(&format!(
            "phase {} ({:.0}s){}",
            phase.name,
            phase.duration.as_secs_f64(),
            if phase.actions.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}",
                    phase
                        .actions
                        .iter()
                        .map(Action::describe)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ));
        let mut done = Vec::new();
        for action in &phase.actions {
            let t0 = Instant::now();
            let at = clock.since_start();
            let result = match action {
                Action::RefreshTokens => tokens.refresh_all().await,
                other => system.act(other).await,
            };
            let took = t0.elapsed();
            if let Err(e) = &result {
                progress.say(&format!("{} FAILED: {e:#}", action.describe()));
            } else {
                progress.say(&format!(
                    "{} done in {:.1}s",
                    action.describe(),
                    took.as_secs_f64()
                ));
            }
            done.push(ActionReport {
                action: action.describe(),
                effect: action.effect(),
                at,
                took,
                error: result.err().map(|e| format!("{e:#}")),
            });
        }
        tokio::time::sleep_until(entered + phase.duration).await;
        durations.push(entered.elapsed());
        actions.push(done);
    }
    // Requests are no longer started; those in flight finish (or time out).
    let _ = stop_tx.send(true);
    progress.say("load stopped; waiting for requests in flight");
    let _ = driver.await;
    let samples = collector.await.context("collecting samples")?;
    let polls = poller.await.context("polling status")?;
    refresher.abort();
    let _ = shown.await;

    progress.say("reading every acknowledged write back");
    let writes = async {
        tokens.refresh_all_within(Duration::from_secs(30)).await?;
        let mut check = ledger
            .check(&http, &endpoints.entry, &tokens.get(WRITER))
            .await?;
        if spec.mix.place > 0 {
            ledger
                .placements
                .check(&http, &endpoints.entry, &tokens.get(WRITER), &mut check)
                .await?;
        }
        check.problems = system.check_writes(&ledger.abbreviations()).await?;
        anyhow::Ok(check)
    }
    .await;
    let writes = match writes {
        Ok(w) => Some(w),
        Err(e) => {
            progress.say(&format!("could not read the writes back: {e:#}"));
            None
        }
    };
    Ok(report::build(Collected {
        scenario,
        short: opts.short,
        started_at,
        plan: &plan,
        starts,
        durations,
        actions,
        samples,
        polls,
        writes,
    }))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// Polls `/api/status` every [`STATUS_EVERY`] until `stop`.
async fn poll_status(
    http: reqwest::Client,
    entry: String,
    clock: Arc<Clock>,
    live: Arc<Live>,
    mut stop: watch::Receiver<bool>,
) -> Vec<StatusPoll> {
    let url = format!("{entry}/api/status");
    let mut polls = Vec::new();
    let mut tick = tokio::time::interval(STATUS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            _ = tick.tick() => {}
        }
        let (phase, offset) = clock.now();
        let at = clock.since_start();
        let doc = async {
            http.get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .ok()?
                .json::<serde_json::Value>()
                .await
                .ok()
        }
        .await;
        let poll = StatusPoll::parse(phase, offset, at, doc.as_ref());
        live.set_status(match &poll.capabilities {
            None => "status: no answer".into(),
            Some(caps) => caps
                .iter()
                .filter(|(id, _)| id.as_str() != "overall")
                .map(|(id, (level, _))| format!("{id} {level}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
        polls.push(poll);
    }
    polls
}

/// Renews tokens every minute while the identity provider answers (they live five).
async fn refresh_tokens(tokens: Arc<Tokens>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
        let _ = tokens.refresh_all().await;
    }
}
