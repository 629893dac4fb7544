use super::*;
use crate::password::{Secret, cheap_params, hash_with};

fn phc() -> String {
    hash_with(&Secret::new("pw"), cheap_params()).unwrap()
}

fn user(name: &str) -> UserEntry {
    UserEntry {
        username: name.into(),
        id: None,
        password_hash: phc(),
        first_name: None,
        last_name: None,
        email: None,
        email_verified: false,
        enabled: true,
        roles: vec![],
        client_roles: Default::default(),
        attributes: Default::default(),
    }
}

fn client(id: &str) -> ClientEntry {
    ClientEntry {
        client_id: id.into(),
        secret_hash: Some(phc()),
        public: false,
        enabled: true,
        grants: vec![GrantType::ClientCredentials],
        roles: vec![],
        client_roles: Default::default(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
    }
}

fn realm(users: Vec<UserEntry>, clients: Vec<ClientEntry>) -> RealmFile {
    RealmFile {
        realms: vec![RealmEntry {
            name: "lin".into(),
            audience: "tis".into(),
            default_roles: vec![],
            users,
            clients,
        }],
    }
}

fn problem(file: RealmFile) -> String {
    match Realms::from_file(file) {
        Err(RealmFileError::Invalid { problem, .. }) => problem,
        other => panic!("expected an invalid realm, got {other:?}"),
    }
}

#[test]
fn usernames_are_found_whatever_their_case_and_ids_are_stable() {
    let a = Realms::from_file(realm(vec![user("Trust.Admin")], vec![])).unwrap();
    let b = Realms::from_file(realm(vec![user("trust.admin")], vec![])).unwrap();
    let ua = a.get("lin").unwrap().user("TRUST.admin").unwrap();
    let ub = b.get("lin").unwrap().user("trust.admin").unwrap();
    assert_eq!(
        ua.id, ub.id,
        "the derived sub must not depend on anything but the name"
    );
    assert_eq!(
        a.get("lin")
            .unwrap()
            .user_by_id(&ua.id)
            .unwrap()
            .entry
            .username,
        "Trust.Admin"
    );
}

#[test]
fn an_explicit_id_wins_over_the_derived_one() {
    let id = Uuid::new_v4();
    let mut u = user("a");
    u.id = Some(id);
    let r = Realms::from_file(realm(vec![u], vec![])).unwrap();
    assert_eq!(r.get("lin").unwrap().user("a").unwrap().id, id);
}

#[test]
fn duplicate_users_differing_only_in_case_are_refused() {
    let p = problem(realm(vec![user("admin"), user("ADMIN")], vec![]));
    assert!(p.contains("twice"), "{p}");
}

#[test]
fn a_clear_text_password_in_password_hash_is_refused() {
    let mut u = user("admin");
    u.password_hash = "tis".into();
    let p = problem(realm(vec![u], vec![]));
    assert!(p.contains("password_hash"), "{p}");
}

#[test]
fn an_attribute_may_not_overwrite_a_standard_claim() {
    let mut u = user("admin");
    u.attributes
        .insert("sub".into(), vec!["someone-else".into()]);
    let p = problem(realm(vec![u], vec![]));
    assert!(p.contains("`sub`"), "{p}");
}

#[test]
fn client_secrets_and_public_clients_must_agree() {
    let mut public_with_secret = client("a");
    public_with_secret.public = true;
    assert!(problem(realm(vec![], vec![public_with_secret])).contains("public"));

    let mut confidential_without = client("b");
    confidential_without.secret_hash = None;
    assert!(problem(realm(vec![], vec![confidential_without])).contains("secret_hash"));

    let mut public_service_account = client("c");
    public_service_account.secret_hash = None;
    public_service_account.public = true;
    assert!(problem(realm(vec![], vec![public_service_account])).contains("client_credentials"));

    let mut no_grants = client("d");
    no_grants.grants.clear();
    assert!(problem(realm(vec![], vec![no_grants])).contains("no grant"));
}

#[test]
fn realm_names_must_be_usable_in_a_url_path() {
    let mut file = realm(vec![], vec![]);
    file.realms[0].name = "../etc".into();
    assert!(problem(file).contains("name"));
    assert!(problem(RealmFile::default()).contains("no realm"));
}

#[test]
fn service_accounts_have_their_own_stable_id() {
    let r = Realms::from_file(realm(vec![], vec![client("etl")])).unwrap();
    let lin = r.get("lin").unwrap();
    let etl = lin.client("etl").unwrap();
    assert_eq!(etl.service_account_name(), "service-account-etl");
    assert_eq!(
        lin.service_account(&etl.service_account_id)
            .unwrap()
            .entry
            .client_id,
        "etl"
    );
}

#[test]
fn a_missing_file_names_its_path() {
    let err = Realms::load(Path::new("/nonexistent/realms.toml")).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/realms.toml"),
        "{err}"
    );
}

#[test]
fn the_demo_realm_is_valid_and_stores_no_clear_text_secret() {
    let file = demo::demo_realm_file().unwrap();
    let text = demo::to_toml(&file).unwrap();
    assert!(!text.contains("password = "), "{text}");
    for line in text.lines().filter(|l| l.contains("\"tis\"")) {
        assert!(line.starts_with("audience"), "a clear-text secret? {line}");
    }
    let back: RealmFile = toml::from_str(&text).unwrap();
    assert_eq!(back, file);
    let realms = Realms::from_file(back).unwrap();
    let lin = realms.get(demo::DEMO_REALM).unwrap();
    let admin = lin.user("admin").unwrap();
    assert_eq!(admin.entry.roles, vec!["HEE Admin"]);
    assert_eq!(admin.entry.attributes["dbc"].len(), demo::ALL_DBCS.len());
    assert!(admin.entry.password_hash.starts_with("$argon2id$"));
    assert_eq!(
        lin.user("sensitive").unwrap().entry.roles,
        vec!["HEE Admin Sensitive"]
    );
    assert_eq!(
        lin.user("trust.admin").unwrap().entry.attributes["dbc"],
        vec![demo::TRUST_ADMIN_DBC]
    );
    assert_eq!(
        lin.user("observer").unwrap().entry.roles,
        vec!["HEE Programme Observer"]
    );
    let ui = lin.client("tis-ui").unwrap();
    assert!(ui.entry.public && ui.allows(GrantType::Password));
    let etl = lin.client("etl").unwrap();
    assert!(!etl.entry.public && etl.allows(GrantType::ClientCredentials));
    assert_eq!(etl.entry.roles, vec!["ETL"]);
    let web = lin.client("tis-web").unwrap();
    assert!(!web.entry.public && web.allows(GrantType::AuthorizationCode));
    assert!(
        web.entry
            .redirect_uris
            .contains(&"http://localhost:8080/auth/callback".to_owned())
    );
    assert!(
        web.entry
            .post_logout_redirect_uris
            .contains(&"http://127.0.0.1:8080/".to_owned())
    );
}

#[test]
fn redirect_uris_are_absolute_http_urls_and_the_code_grant_needs_one() {
    let mut c = client("web");
    c.grants = vec![GrantType::AuthorizationCode];
    assert!(problem(realm(vec![], vec![c.clone()])).contains("needs `redirect_uris`"));
    for bad in [
        "/auth/callback",
        "javascript:alert(1)",
        "http://h/cb#frag",
        "http://h/*",
        "http://h/a b",
        "ftp://h/cb",
    ] {
        let mut c = c.clone();
        c.redirect_uris = vec![bad.into()];
        assert!(
            problem(realm(vec![], vec![c])).contains("redirect URI"),
            "{bad}"
        );
    }
    let mut c2 = c.clone();
    c2.redirect_uris = vec!["http://127.0.0.1:8080/auth/callback".into()];
    c2.post_logout_redirect_uris = vec!["javascript:x".into()];
    assert!(problem(realm(vec![], vec![c2.clone()])).contains("redirect URI"));
    c2.post_logout_redirect_uris = vec!["https://tis.example.org/".into()];
    Realms::from_file(realm(vec![], vec![c2])).unwrap();
}

#[test]
fn ensure_demo_realm_keeps_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/realms.toml");
    assert!(demo::ensure_demo_realm(&path).unwrap());
    std::fs::write(&path, "# edited\n").unwrap();
    assert!(!demo::ensure_demo_realm(&path).unwrap());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# edited\n");
}
