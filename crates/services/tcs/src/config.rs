//! `[tcs]`: the TCS service's configuration: the keys every service section has (see
//! [`tis_service_kit::config`]).

tis_service_kit::service_config! {
    /// `[tcs]`.
    pub struct TcsConfig(tis_core::service::TCS) {}
}
