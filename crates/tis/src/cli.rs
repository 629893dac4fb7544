//! The command line. Flags override the configuration file and the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::services::Service;

/// TIS, the Trainee Information System: the records of doctors and dentists in postgraduate
/// training, as services that keep working when parts of them fail.
#[derive(Debug, Parser)]
#[command(name = "tis", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Configuration file (TOML). Without it, `tis.toml` in the working folder is read when
    /// present. Environment variables `TIS_<SECTION>__<KEY>` override the file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log format: `json` (ECS, one object per line, for log shippers), `pretty` (for
    /// people), or `auto` (`pretty` when stdout and stderr are terminals, `json` otherwise; the
    /// default). Overrides `log.format`.
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,

    /// Log filter, e.g. `info` or `info,tis_mesh=debug`. Overrides `log.level`.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,

    #[command(flatten)]
    pub supervised: SupervisedArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Auto,
    Json,
    Pretty,
}

/// Set by `tis up` on the processes it starts; not for people.
#[derive(Debug, Clone, Default, Args)]
pub struct SupervisedArgs {
    /// Write the bound address to this file once listening.
    #[arg(long, global = true, hide = true, value_name = "FILE")]
    pub announce_to: Option<PathBuf>,
    /// Exit (draining) when this process is no longer our parent.
    #[arg(long, global = true, hide = true, value_name = "PID")]
    pub supervisor_pid: Option<i32>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole system on this machine with zero setup: the development identity
    /// provider and every service on embedded SQLite with demo data, supervised (crashed
    /// processes are restarted with back-off). Ctrl-C drains and stops everything.
    Up(UpArgs),
    /// Run one instance of a domain service.
    Serve(ServeArgs),
    /// Run the development OpenID Connect provider (Keycloak's URL layout).
    Idp(IdpArgs),
    /// Run the gateway: the stateless edge that authenticates, routes by path prefix to
    /// weighted pools of each service, sheds load and serves the status page.
    Gateway(GatewayArgs),
    /// Print an access token for curl and scripts: `TOKEN=$(tis token --user admin)`.
    Token(TokenArgs),
    /// Apply a service's database migrations, then exit.
    Migrate(MigrateArgs),
    /// Fault scenarios under a steady workload: availability, latency, status and lost
    /// writes per phase, against expectations (docs/resilience.md).
    Chaos(ChaosArgs),
    /// Operate the running `tis up`: `tis ctl restart reference` restarts a service's
    /// instances one at a time, each out of the gateway's rotation while it restarts.
    Ctl(CtlArgs),
    /// Demo data for benchmarks and trials: `tis demo generate --people 200000` loads that
    /// many synthetic trainees into an empty TCS database.
    Demo(DemoArgs),
    /// Profile administration from the command line: `tis profile add-user alice --role
    /// "HEE Admin" --role ProfileAdmin --dbc 1-AIIDWA` gives a new deployment its first
    /// administrator (the API needs one to create the others).
    Profile(ProfileArgs),
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(subcommand)]
    pub action: ProfileAction,
}

#[derive(Debug, Subcommand)]
pub enum ProfileAction {
    /// Create a user with roles and designated bodies, or add them to an existing user
    /// (never removing any), in Profile's database (`profile.database`, migrated first).
    AddUser(ProfileAddUserArgs),
}

#[derive(Debug, Args)]
pub struct ProfileAddUserArgs {
    /// The user name: Keycloak's `preferred_username`.
    #[arg(value_name = "USER")]
    pub user: String,
    /// A role to grant (repeatable), e.g. `HEE Admin`, `ProfileAdmin`.
    #[arg(long = "role", value_name = "ROLE", required = true)]
    pub roles: Vec<String>,
    /// A designated body code to add (repeatable), e.g. `1-AIIDWA`.
    #[arg(long = "dbc", value_name = "CODE")]
    pub designated_bodies: Vec<String>,
    #[arg(long, value_name = "NAME")]
    pub first_name: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub last_name: Option<String>,
    #[arg(long, value_name = "ADDRESS")]
    pub email: Option<String>,
    /// The database URL. Overrides `profile.database.url`.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(subcommand)]
    pub action: DemoAction,
}

#[derive(Debug, Subcommand)]
pub enum DemoAction {
    /// Migrate TCS's database and load synthetic trainees (no real person; the same ones
    /// for the same count), with programmes in every local office, memberships and training
    /// numbers. Refuses a database that already has programmes.
    Generate(DemoGenerateArgs),
}

#[derive(Debug, Args)]
pub struct DemoGenerateArgs {
    /// How many trainees.
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u32).range(1..=2_000_000))]
    pub people: u32,
    /// TCS's database URL (`sqlite://…` or `postgres://…`). Overrides `tcs.database.url`.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct CtlArgs {
    #[command(subcommand)]
    pub action: CtlAction,
}

#[derive(Debug, Subcommand)]
pub enum CtlAction {
    /// Rolling restart: drain one instance, wait until its replacement is ready and takes
    /// traffic through the gateway, then the next. Exits non-zero on a timeout.
    Restart(CtlRestartArgs),
}

#[derive(Debug, Args)]
pub struct CtlRestartArgs {
    /// The service whose instances to restart (`reference`, `profile`…, or `idp`, `gateway`).
    pub service: String,
    /// The data folder of the running `tis up`. Overrides `data_dir` (default `.tis`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The longest one instance may take to drain, restart and take traffic again.
    #[arg(long, value_name = "DURATION", default_value = "60s",
          value_parser = humantime_serde::re::humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct ChaosArgs {
    #[command(subcommand)]
    pub action: ChaosAction,
}

#[derive(Debug, Subcommand)]
pub enum ChaosAction {
    /// Run a scenario (a name from `tis chaos list`, or a TOML file), or every one with --all.
    /// Exits non-zero when an expectation is missed.
    Run(ChaosRunArgs),
    /// List the scenarios.
    List {
        /// Read scenarios from this folder instead of `./scenarios` or the built-in ones.
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["scenario", "all"])))]
pub struct ChaosRunArgs {
    /// The scenario: a name (`instance-kill`) or a file.
    pub scenario: Option<String>,
    /// Run every scenario, one after the other.
    #[arg(long)]
    pub all: bool,
    /// The CI version: short phases (about 20 s a scenario) at a lower rate.
    #[arg(long)]
    pub short: bool,
    /// Print the report as JSON on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Use the `tis up` already running on this data folder instead of starting one.
    #[arg(long, value_name = "DATA_DIR")]
    pub attach: Option<PathBuf>,
    /// Read scenarios from this folder instead of `./scenarios` or the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
    /// Keep the temporary folder of the `tis up` we start (its `up.log`), even on success.
    #[arg(long)]
    pub keep: bool,
    /// Also write the report as a self-contained HTML page with charts (second by second:
    /// success, degraded share, latency, the status page; faults marked; verdicts).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// The folder for databases, keys and run files. Overrides `data_dir` (default `.tis`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Instances per service. Overrides `up.instances`.
    #[arg(long, value_name = "N")]
    pub instances: Option<u16>,
    /// Run every service on this PostgreSQL server (a role that may create databases,
    /// e.g. `postgres://postgres@127.0.0.1:5432`) instead of SQLite: each service gets its
    /// own database there, created and migrated on start. Overrides `up.postgres.primary`.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// A streaming replica of the PostgreSQL primary, for reads; repeat for each. Overrides
    /// `up.postgres.replicas`.
    #[arg(long, value_name = "URL")]
    pub replica: Vec<String>,
}

/// `tis serve <service> [--listen ADDR]`: one subcommand per entry of the services table, so
/// that `tis serve reference --help` is Reference's own help (its `about`, its usage), not
/// the help of `serve`.
#[derive(Debug)]
pub struct ServeArgs {
    /// The service to run.
    pub service: &'static Service,
    /// Listen address; port 0 picks a free port. Overrides `<service>.listen`.
    pub listen: Option<SocketAddr>,
}

impl clap::FromArgMatches for ServeArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        use clap::error::ErrorKind;
        let (name, sub) = matches
            .subcommand()
            .ok_or_else(|| clap::Error::new(ErrorKind::MissingSubcommand))?;
        let service = crate::services::named(name)
            .ok_or_else(|| clap::Error::new(ErrorKind::InvalidSubcommand))?;
        let listen = sub.get_one::<SocketAddr>("listen").copied();
        Ok(ServeArgs { service, listen })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for ServeArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let services = crate::services::SERVICES.iter().map(|s| {
            clap::Command::new(s.name)
                .about(s.about)
                .long_about(format!(
                    "Run one instance of the {} service: {}. Its settings are the `[{}]` \
                     section of the configuration.",
                    s.name,
                    s.about.to_lowercase(),
                    s.name
                ))
                .arg(
                    clap::Arg::new("listen")
                        .long("listen")
                        .value_name("ADDR")
                        .value_parser(clap::value_parser!(SocketAddr))
                        .help(format!(
                            "Listen address; port 0 picks a free port. Overrides `{}.listen`",
                            s.name
                        )),
                )
        });
        let names: Vec<&str> = crate::services::SERVICES.iter().map(|s| s.name).collect();
        cmd.subcommand_required(true)
            // The names in the usage line, so that a wrong one's error lists the right ones.
            .override_usage(format!("tis serve <{}> [OPTIONS]", names.join("|")))
            .subcommand_value_name("SERVICE")
            .subcommand_help_heading("Services")
            .subcommands(services)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// Public listen address; port 0 picks a free port. Overrides `gateway.listen`
    /// (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Admin listen address (metrics, health, full status, the local registry); keep it
    /// private. Overrides `gateway.admin_listen` (default 127.0.0.1:8081).
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
}

#[derive(Debug, Args)]
pub struct IdpArgs {
    /// Listen address. Overrides `idp.listen` (default 127.0.0.1:8180).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Write the demo realm (users admin, sensitive, trust.admin, observer, profile.admin;
    /// clients tis-ui, tis-web and etl; password `tis`) to `idp.realm_file` when it does not
    /// exist. Local mode only.
    #[arg(long)]
    pub demo: bool,
    #[command(subcommand)]
    pub action: Option<IdpAction>,
}

#[derive(Debug, Subcommand)]
pub enum IdpAction {
    /// Rotate the signing key now; a running provider picks it up, and the previous key
    /// stays published for `idp.rotation_overlap`.
    RotateKeys,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["user", "client"])))]
pub struct TokenArgs {
    /// Log in as this user (password grant).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// The user's password.
    #[arg(
        long,
        value_name = "PASSWORD",
        default_value = "tis",
        requires = "user"
    )]
    pub password: String,
    /// The public client the user logs in through.
    #[arg(
        long,
        value_name = "CLIENT",
        default_value = "tis-ui",
        requires = "user"
    )]
    pub via: String,
    /// Get a service-account token for this client (client-credentials grant).
    #[arg(long, value_name = "CLIENT")]
    pub client: Option<String>,
    /// The client's secret.
    #[arg(
        long,
        value_name = "SECRET",
        default_value = "tis",
        requires = "client"
    )]
    pub secret: String,
    /// The issuer (realm URL). Overrides `token.issuer`.
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The service whose database to migrate.
    #[arg(value_parser = crate::services::parser())]
    pub service: &'static Service,
    /// The database URL (`sqlite://…` or `postgres://…`). Overrides `<service>.database.url`.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn each_service_prints_its_own_help() {
        for s in crate::services::SERVICES {
            let err = Cli::try_parse_from(["tis", "serve", s.name, "--help"])
                .expect_err("--help stops parsing");
            assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
            let help = err.to_string();
            assert!(
                help.contains(&format!("Usage: tis serve {} [OPTIONS]", s.name)),
                "{help}"
            );
            assert!(help.contains(&format!("`{}.listen`", s.name)), "{help}");
            assert!(help.contains(&format!("`[{}]` section", s.name)), "{help}");
            for other in crate::services::SERVICES
                .iter()
                .filter(|o| o.name != s.name)
            {
                assert!(!help.contains(other.about), "{} in {help}", other.name);
            }
        }
        let listen = Cli::try_parse_from(["tis", "serve", "tcs", "--listen", "127.0.0.1:0"]);
        match listen.map(|c| c.command) {
            Ok(Command::Serve(args)) => {
                assert_eq!(args.service.name, "tcs");
                assert_eq!(args.listen, Some("127.0.0.1:0".parse().expect("addr")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_token_needs_a_user_or_a_client() {
        assert!(Cli::try_parse_from(["tis", "token"]).is_err());
        assert!(Cli::try_parse_from(["tis", "token", "--user", "admin"]).is_ok());
        assert!(
            Cli::try_parse_from(["tis", "token", "--user", "admin", "--client", "etl"]).is_err()
        );
    }

    #[test]
    fn demo_generate_takes_a_positive_number_of_people() {
        let parsed = Cli::try_parse_from(["tis", "demo", "generate", "--people", "200000"]);
        match parsed.map(|c| c.command) {
            Ok(Command::Demo(DemoArgs {
                action: DemoAction::Generate(args),
            })) => assert_eq!(args.people, 200_000),
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["tis", "demo", "generate", "--people", "0"]).is_err());
        assert!(Cli::try_parse_from(["tis", "demo", "generate", "--people", "x"]).is_err());
    }
}
