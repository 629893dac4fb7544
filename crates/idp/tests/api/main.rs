//! API tests: the real provider on 127.0.0.1:0, spoken to over HTTP, its tokens checked
//! with jsonwebtoken alone (not with tis-auth), time moved with a manual clock.

mod helpers;

mod bad_input;
mod browser;
mod client_credentials;
mod discovery;
mod keycloak_export;
mod keys;
mod password_grant;
mod refresh;
mod secrets;
mod token_client;
mod userinfo;
