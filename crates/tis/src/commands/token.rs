//! `tis token`: prints an access token, and nothing else, on stdout.

use std::io::Write;

use tis_idp::client::{TokenRequest, fetch_access_token};
use tis_idp::password::Secret;

use crate::cli::TokenArgs;
use crate::config::Config;

pub async fn run(args: TokenArgs, config: Config) -> anyhow::Result<()> {
    let issuer = args.issuer.unwrap_or(config.token.issuer);
    let request = match (args.user, args.client) {
        (Some(username), _) => TokenRequest::Password {
            client_id: args.via,
            client_secret: None,
            username,
            password: Secret::new(args.password),
        },
        (None, Some(client_id)) => TokenRequest::ClientCredentials {
            client_id,
            client_secret: Secret::new(args.secret),
        },
        (None, None) => anyhow::bail!("give --user or --client"),
    };
    let token = fetch_access_token(&issuer, &request, config.token.timeout).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{token}")?;
    Ok(())
}
