//! `tis chaos`: runs fault scenarios (tis-chaos) and prints their reports.

use std::io::Write;

use anyhow::{Context, bail};
use tis_chaos::scenario::Scenario;
use tis_chaos::{RunOptions, ScenarioReport, report, run_scenario};

use crate::cli::{ChaosAction, ChaosArgs, ChaosRunArgs};

pub async fn run(args: ChaosArgs) -> anyhow::Result<()> {
    match args.action {
        ChaosAction::List { scenarios } => {
            let mut out = std::io::stdout().lock();
            for s in Scenario::all(scenarios.as_deref())? {
                writeln!(out, "{:<18} {}", s.name, s.summary)?;
            }
            Ok(())
        }
        ChaosAction::Run(args) => run_scenarios(args).await,
    }
}

async fn run_scenarios(args: ChaosRunArgs) -> anyhow::Result<()> {
    let scenarios = match (&args.scenario, args.all) {
        (Some(name), false) => vec![Scenario::find(name, args.scenarios.as_deref())?],
        (None, true) => Scenario::all(args.scenarios.as_deref())?,
        _ => bail!("give a scenario or --all, not both"),
    };
    let mut opts = RunOptions::new(std::env::current_exe()?);
    opts.short = args.short;
    opts.system.attach = args.attach.clone();
    opts.system.keep = args.keep;
    opts.progress = !args.quiet;

    let mut reports: Vec<ScenarioReport> = Vec::new();
    let mut not_run: Vec<String> = Vec::new();
    for scenario in &scenarios {
        match run_scenario(scenario, &opts).await {
            Ok(r) => {
                if !args.json {
                    let mut out = std::io::stdout().lock();
                    write!(out, "{}", report::table(&r))?;
                    out.flush()?;
                }
                reports.push(r);
            }
            Err(e) => {
                eprintln!("tis chaos: {} could not run: {e:#}", scenario.name);
                not_run.push(format!("{}: {e:#}", scenario.name));
            }
        }
    }
    if args.json {
        let mut out = std::io::stdout().lock();
        if args.all {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({ "reports": reports, "not_run": not_run }),
            )?;
        } else if let Some(r) = reports.first() {
            serde_json::to_writer_pretty(&mut out, r)?;
        }
        writeln!(out)?;
    } else if reports.len() > 1 {
        let mut out = std::io::stdout().lock();
        writeln!(out, "\nsummary:")?;
        for r in &reports {
            writeln!(
                out,
                "  {:<18} {}",
                r.scenario,
                if r.passed {
                    "PASS".to_owned()
                } else {
                    format!("FAIL ({} missed)", r.missed())
                }
            )?;
        }
        for n in &not_run {
            writeln!(out, "  {n}: NOT RUN")?;
        }
    }
    if let Some(file) = &args.report {
        report::html::write(file, &reports)
            .with_context(|| format!("writing the report to {}", file.display()))?;
        if !args.quiet {
            eprintln!("tis chaos: report written to {}", file.display());
        }
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.scenario.as_str())
        .collect();
    if !failed.is_empty() || !not_run.is_empty() {
        bail!(
            "{} of {} scenarios missed expectations ({}){}",
            failed.len(),
            scenarios.len(),
            failed.join(", "),
            if not_run.is_empty() {
                String::new()
            } else {
                format!("; {} could not run", not_run.len())
            }
        );
    }
    Ok(())
}
