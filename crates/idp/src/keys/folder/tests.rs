use std::os::unix::fs::PermissionsExt;

use super::*;

const NOW: u64 = 1_800_000_000;
const HOUR: u64 = 3600;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_first_open_makes_one_private_rsa_key_and_the_next_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let folder = KeyFolder::new(&keys_dir);
    let first = folder.open(SigningAlgorithm::RS256, HOUR, NOW).unwrap();
    assert_eq!(first.keys.len(), 1);
    let kid = first.keys[0].kid.clone();
    let pem_path = keys_dir.join(format!("{kid}.pem"));
    let pem = std::fs::read_to_string(&pem_path).unwrap();
    assert!(
        pem.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "PKCS#8 PEM expected"
    );
    assert_eq!(mode(&pem_path), 0o600);
    assert_eq!(mode(&keys_dir), 0o700);

    let again = folder
        .open(SigningAlgorithm::RS256, HOUR, NOW + 10)
        .unwrap();
    assert_eq!(again.keys.len(), 1);
    assert_eq!(again.keys[0].kid, kid);
    assert_eq!(again.manifest_text, first.manifest_text);
}

#[test]
fn every_supported_algorithm_makes_keys_that_verify_with_their_jwk() {
    for alg in [
        SigningAlgorithm::RS256,
        SigningAlgorithm::ES256,
        SigningAlgorithm::EdDSA,
    ] {
        let pem = to_pem(&generate(alg).unwrap());
        let key = KeyMaterial::from_pem(None, alg, pem.as_bytes(), None).unwrap();
        let mut header = jsonwebtoken::Header::new(alg.jwt());
        header.kid = Some(key.kid.clone());
        let claims = serde_json::json!({"sub": "x", "exp": 4_000_000_000u64});
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap();
        let decoding = jsonwebtoken::DecodingKey::from_jwk(&key.jwk).unwrap();
        let mut v = jsonwebtoken::Validation::new(alg.jwt());
        v.validate_aud = false;
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &v).unwrap();
        assert_eq!(data.claims["sub"], "x", "{alg}");
        assert_eq!(key.jwk.common.key_id.as_deref(), Some(key.kid.as_str()));
    }
}

#[test]
fn rotation_keeps_the_previous_key_until_the_overlap_ends_then_deletes_it() {
    let dir = tempfile::tempdir().unwrap();
    let folder = KeyFolder::new(dir.path());
    let old = folder
        .open(SigningAlgorithm::ES256, HOUR, NOW)
        .unwrap()
        .keys[0]
        .kid
        .clone();
    let r = folder
        .rotate(SigningAlgorithm::ES256, HOUR, NOW + 5)
        .unwrap();
    assert_eq!(r.previous.as_deref(), Some(old.as_str()));
    assert_eq!(r.retire_at, Some(NOW + 5 + HOUR));
    assert_ne!(r.active, old);

    let loaded = folder.load_if_changed("").unwrap().unwrap();
    assert_eq!(loaded.keys.len(), 2);
    assert!(
        !folder.prune(NOW + 5 + HOUR - 1).unwrap(),
        "still overlapping"
    );
    assert!(dir.path().join(format!("{old}.pem")).exists());

    assert!(folder.prune(NOW + 5 + HOUR).unwrap());
    assert!(!dir.path().join(format!("{old}.pem")).exists());
    let loaded = folder.load_if_changed("").unwrap().unwrap();
    assert_eq!(loaded.keys.len(), 1);
    assert_eq!(loaded.keys[0].kid, r.active);
}

#[test]
fn a_changed_algorithm_rotates_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let folder = KeyFolder::new(dir.path());
    folder.open(SigningAlgorithm::RS256, HOUR, NOW).unwrap();
    let loaded = folder.open(SigningAlgorithm::EdDSA, HOUR, NOW + 1).unwrap();
    let active: Vec<_> = loaded
        .keys
        .iter()
        .filter(|k| k.retire_at.is_none())
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].alg, SigningAlgorithm::EdDSA);
    assert_eq!(loaded.keys.len(), 2, "the RSA key stays for the overlap");
}

#[test]
fn an_unchanged_manifest_is_not_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let folder = KeyFolder::new(dir.path());
    let loaded = folder.open(SigningAlgorithm::EdDSA, HOUR, NOW).unwrap();
    assert!(
        folder
            .load_if_changed(&loaded.manifest_text)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_manifest_naming_a_path_outside_the_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(MANIFEST),
        r#"{"keys":[{"kid":"../../etc/passwd","alg":"RS256","created_at":1}]}"#,
    )
    .unwrap();
    let err = KeyFolder::new(dir.path())
        .load_if_changed("")
        .err()
        .expect("a hostile kid must be refused");
    assert!(matches!(err, KeyError::Manifest { .. }), "{err}");
}

#[test]
fn a_key_file_that_does_not_match_its_kid_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let folder = KeyFolder::new(dir.path());
    let kid = folder
        .open(SigningAlgorithm::EdDSA, HOUR, NOW)
        .unwrap()
        .keys[0]
        .kid
        .clone();
    let other = to_pem(&generate(SigningAlgorithm::EdDSA).unwrap());
    std::fs::write(dir.path().join(format!("{kid}.pem")), other).unwrap();
    let err = folder
        .load_if_changed("")
        .err()
        .expect("a swapped key file must be refused");
    assert!(matches!(err, KeyError::BadKey { .. }), "{err}");
}

#[test]
fn a_scheduled_rotation_happens_only_when_the_key_is_old_enough() {
    let dir = tempfile::tempdir().unwrap();
    let folder = KeyFolder::new(dir.path());
    folder.open(SigningAlgorithm::EdDSA, HOUR, NOW).unwrap();
    let day = 24 * HOUR;
    assert!(
        folder
            .rotate_if_older(day, SigningAlgorithm::EdDSA, HOUR, NOW + day - 1)
            .unwrap()
            .is_none()
    );
    assert!(
        folder
            .rotate_if_older(day, SigningAlgorithm::EdDSA, HOUR, NOW + day)
            .unwrap()
            .is_some()
    );
}
