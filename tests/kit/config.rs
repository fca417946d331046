//! Config files (`configs.json`, the proof of concept's shape) for a fake tenant.

use std::path::{Path, PathBuf};

use graph::fake::FakeTenantHandle;
use serde_json::{json, Value};

/// Writes `dir/configs.json` (creating `dir`) for the fake tenant `t`: named by its domain,
/// its app with the client secret, its scope group, 60-minute challenges, its URLs for
/// sign-in and Graph; then `fields` (a JSON object) over those, a `null` field removing the
/// key.
pub fn write_config(dir: &Path, t: &FakeTenantHandle, fields: Value) -> PathBuf {
    let mut cfg = json!({
        "tenantName": t.tenant_domain(),
        "client_id": t.client_id(),
        "client_secret": t.client_secret(),
        "usersInScopeGroup": t.group_name(),
        "challengeTimeoutInMinutes": 60,
        "loginBaseUrl": t.base_url(),
        "graphBaseUrl": t.base_url(),
    });
    set(&mut cfg, &fields);
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("configs.json");
    write(&path, &cfg);
    path
}

/// Sets `fields` (a JSON object) in the config at `path`, a `null` field removing the key.
pub fn edit_config(path: &Path, fields: Value) {
    let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    set(&mut cfg, &fields);
    write(path, &cfg);
}

/// `fields` as members appended to a JSON object's text (`,"useRandomPIN":true`, or empty),
/// the way the enrollment tests name their config rules.
pub fn members(text: &str) -> Value {
    let text = text.trim();
    let text = text.strip_prefix(',').unwrap_or(text);
    serde_json::from_str(&format!("{{{text}}}"))
        .unwrap_or_else(|e| panic!("config members {text:?}: {e}"))
}

fn set(cfg: &mut Value, fields: &Value) {
    let cfg = cfg.as_object_mut().unwrap();
    for (k, v) in fields.as_object().expect("config fields are a JSON object") {
        if v.is_null() {
            cfg.remove(k);
        } else {
            cfg.insert(k.clone(), v.clone());
        }
    }
}

fn write(path: &Path, cfg: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(cfg).unwrap()).unwrap();
}
