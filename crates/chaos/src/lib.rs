//! `tis chaos`: fault scenarios against a running TIS under a fixed-rate workload.
//!
//! A scenario ([`scenario`]) names the system it needs, the workload, a timeline of phases
//! with the faults each injects, and what must hold. The runner ([`runner`]) starts the
//! system ([`system`]: `tis up` in a temporary folder, or attaches to a running one), drives
//! an open-model workload of mixed user journeys ([`workload`]) at a fixed rate, injects each
//! phase's actions, polls `/api/status`, and at the end reads every acknowledged write back.
//! [`report`] turns the samples into per-phase figures and verdicts: a table for people,
//! JSON for tools, and an exit code.
//!
//! Everything is real: real processes, real `kill -9` and `SIGSTOP`, real tokens from the
//! identity provider, real HTTP through the gateway.

pub mod progress;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod system;
pub mod workload;

pub use report::ScenarioReport;
pub use runner::{RunOptions, run_scenario};
pub use scenario::Scenario;
