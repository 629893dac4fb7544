//! System tests of the authorisation context (issue 5): a real `tis up` (the IdP, the gateway,
//! two Reference and two Profile instances, on ephemeral ports), real tokens from the real
//! IdP for users the test adds to the demo realm and creates in Profile through the gateway,
//! Profile instances killed for real (`kill -9`, held down through `run/hold/<name>`), and
//! `/userinfo` calls counted from Profile's own `/metrics`.
//!
//! - [`outage`]: every Profile instance down under load from 50 users seen before.
//! - [`single_flight`]: 1,000 concurrent first requests of one user, one `/userinfo` call.
//! - [`roles`]: a role removed in Profile stops granting access at the gateway in time.

mod outage;
mod roles;
mod single_flight;
mod support;
