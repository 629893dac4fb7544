//! `[reference]`: the Reference service's configuration: the keys every service section has
//! (see [`tis_service_kit::config`]) and no others.
//!
//! Every key has a default, so an empty section runs an instance on `127.0.0.1:0` with an
//! SQLite file `reference.db` in the working folder, migrated at start. Only the gateway's
//! public key (`principal.trusted_key_files` or `principal.trusted_keys_pem`) must be given:
//! without it no request can be authenticated, and the instance refuses to start.

tis_service_kit::service_config! {
    /// `[reference]`.
    pub struct ReferenceConfig(tis_core::service::REFERENCE) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use tis_service_kit::config::ServiceConfig;

    #[test]
    fn an_empty_section_needs_only_the_gateway_key_and_unknown_keys_are_refused() {
        let mut cfg: ReferenceConfig = serde_json::from_str("{}").expect("defaults");
        assert_eq!(cfg, ReferenceConfig::default());
        assert_eq!(cfg.principal.audience, "reference");
        let err = cfg.validate().expect_err("no gateway key").to_string();
        assert!(
            err.contains("reference.principal.trusted_key_files"),
            "{err}"
        );
        cfg.principal.trusted_keys_pem = vec!["(the gateway's public key)".into()];
        cfg.validate().expect("valid");
        let err =
            serde_json::from_str::<ReferenceConfig>(r#"{"max_page":5}"#).expect_err("unknown");
        assert!(err.to_string().contains("max_page"), "{err}");
    }

    #[test]
    fn a_default_page_larger_than_the_maximum_is_refused() {
        let cfg = ReferenceConfig {
            default_page_size: 50,
            max_page_size: 10,
            ..ReferenceConfig::default()
        };
        let err = cfg.validate().expect_err("bad").to_string();
        assert!(err.contains("reference.default_page_size"), "{err}");
    }
}
