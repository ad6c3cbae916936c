//! The real commands, driven through Tauri's IPC on the mock runtime, on a
//! library of real photos from `../shared/photos` copied into a temp dir and
//! indexed by the real scanner.

use crate::events::LIBRARY_EVENT;
use crate::secrets::TokenStore;
use crate::state::AppState;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;
use tauri::test::{mock_builder, MockRuntime};
use tauri::{App, Listener, Manager, WebviewWindow, WebviewWindowBuilder};

fn shared_photos() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var("PHOTOPRO_SHARED_PHOTOS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/photos").to_string()
        }),
    )
}

/// Three galleries of real photos, scanned.
const LAYOUT: &[(&str, &str)] = &[
    ("Brighton Beach", "dji-phantom3/DJI_0018.JPG"),
    ("Brighton Beach", "dji-phantom3/DJI_0019.JPG"),
    ("Brighton Beach", "dji-phantom3/DJI_0020.JPG"),
    ("Caliterra/Flight 1", "aerial-12mp/IMG_9354.jpg"),
    ("Caliterra/Flight 1", "aerial-12mp/IMG_9355.jpg"),
    ("Studio", "cameras/Canon EOS 7D.jpg"),
    ("Studio", "cameras/Apple iPhone 4.jpg"),
];

struct Harness {
    _dir: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
    app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("Shoots");
    for (folder, source) in LAYOUT {
        let target = root.join(folder);
        std::fs::create_dir_all(&target).unwrap();
        let source = shared_photos().join(source);
        std::fs::copy(&source, target.join(source.file_name().unwrap())).unwrap();
    }
    let data = dir.path().join("data");
    let mut state = AppState::open(Some(data.clone())).unwrap();
    state.tokens = TokenStore::File(data.join("device-token"));
    {
        let mut index = state.writer();
        let library = index.add_library(&root).unwrap();
        let options =
            photopro_library::scan::ScanOptions::new(&state.config().unwrap(), &state.dirs)
                .unwrap();
        photopro_library::scan::scan_library(&mut index, library, &options, &mut |_| {}).unwrap();
    }
    let app = crate::build_app(
        mock_builder(),
        tauri::generate_context!(test = true),
        state,
        false,
    )
    .unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    Harness {
        _dir: dir,
        root,
        data,
        app,
        window,
    }
}

impl Harness {
    fn call<T: DeserializeOwned>(&self, cmd: &str, args: Value) -> Result<T, Value> {
        let request = tauri::webview::InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: tauri::test::INVOKE_KEY.to_string(),
        };
        tauri::test::get_ipc_response(&self.window, request).map(|body| body.deserialize().unwrap())
    }

    fn ok<T: DeserializeOwned>(&self, cmd: &str, args: Value) -> T {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn card<'a>(view: &'a Value, name: &str) -> &'a Value {
        view["folders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no card {name}"))
    }

    /// Run `action`, then wait (bounded) for the scan it starts to announce the new library state.
    fn and_wait_for_scan<T>(&self, action: impl FnOnce() -> T) -> T {
        let (tx, rx) = mpsc::channel();
        let id = self.app.listen(LIBRARY_EVENT, move |_| {
            let _ = tx.send(());
        });
        let value = action();
        if rx.recv_timeout(Duration::from_secs(120)).is_err() {
            let state = self.app.state::<AppState>();
            let scan = match state.scan.try_lock() {
                Ok(scan) => format!("{:?}", *scan),
                Err(error) => format!("unreadable ({error})"),
            };
            panic!(
                "the scan did not finish within 120 s; scan state: {scan}; threads:\n{}",
                own_stacks()
            );
        }
        self.app.unlisten(id);
        value
    }
}

/// Every thread's stack in this process (gdb attached to ourselves), for a
/// test that found something hung: which lock or call each thread waits on.
fn own_stacks() -> String {
    std::process::Command::new("gdb")
        .args([
            "-p",
            &std::process::id().to_string(),
            "-batch",
            "-ex",
            "thread apply all bt 16",
        ])
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.starts_with("Thread") || l.starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_else(|error| format!("(gdb unavailable: {error})"))
}

#[test]
fn home_grid_shows_each_gallery_with_cover_count_and_dates() {
    let h = harness();
    let home: Value = h.ok("open_folder", json!({ "folder": null }));
    assert_eq!(home["folder"]["name"], "Shoots");
    let names: Vec<&str> = home["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Brighton Beach", "Caliterra", "Studio"]);
    let beach = Harness::card(&home, "Brighton Beach");
    assert_eq!(beach["photos"], 3);
    assert!(
        beach["first_taken"]
            .as_str()
            .unwrap()
            .starts_with("2016-06-23"),
        "{beach}"
    );
    let caliterra = Harness::card(&home, "Caliterra");
    assert_eq!(
        (
            caliterra["photos"].as_u64(),
            caliterra["files_total"].as_u64()
        ),
        (Some(0), Some(2))
    );
    assert!(
        caliterra["cover"].is_number(),
        "a parent folder's cover comes from below it"
    );

    // The cover is served by the thumb: protocol straight from the cache; the
    // preview, never rendered by the scan, is rendered on this first request.
    let state = h.app.state::<AppState>();
    let cover = beach["cover"].as_i64().unwrap();
    let jpeg = crate::protocol::thumbnail(&state, &format!("/grid/{cover}")).unwrap();
    assert_eq!(&jpeg[..2], b"\xff\xd8");
    let preview = crate::protocol::thumbnail(&state, &format!("/preview/{cover}")).unwrap();
    assert!(preview.len() > jpeg.len());
    assert_eq!(
        crate::protocol::thumbnail(&state, "/grid/999999").map_err(|e| e.0),
        Err(tauri::http::StatusCode::NOT_FOUND)
    );
    assert_eq!(
        crate::protocol::thumbnail(&state, "/huge/1").map_err(|e| e.0),
        Err(tauri::http::StatusCode::BAD_REQUEST)
    );

    let strip: Vec<Value> = h.ok("folder_strip", json!({ "folder": beach["id"] }));
    assert_eq!(strip.len(), 3);
    let opened: Value = h.ok("open_folder", json!({ "folder": beach["id"] }));
    let ancestry: Vec<&str> = opened["ancestry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(ancestry, ["Shoots", "Brighton Beach"]);
    assert_eq!(opened["photos"].as_array().unwrap().len(), 3);

    let tree: Vec<Value> = h.ok("library_tree", json!({}));
    assert_eq!(
        tree[0]["folders"].as_array().unwrap().len(),
        5,
        "root + 4 folders"
    );
    let found: Vec<Value> = h.ok(
        "find_assets",
        json!({ "filter": { "camera": "fc300", "has_gps": true } }),
    );
    assert_eq!(found.len(), 3);
    let status: Value = h.ok("library_status", json!({}));
    assert_eq!(status["photos"], 7);
}

#[test]
fn moving_a_photo_by_drag_and_drop_changes_disk_and_index_and_trash_restores() {
    let h = harness();
    let home: Value = h.ok("open_folder", json!({ "folder": null }));
    let beach = Harness::card(&home, "Brighton Beach")["id"].clone();
    let studio = Harness::card(&home, "Studio")["id"].clone();
    let photos: Value = h.ok("open_folder", json!({ "folder": beach }));
    let photo = photos["photos"][0].clone();

    let outcome: Value = h.ok(
        "move_assets",
        json!({ "assets": [photo["id"]], "to": studio }),
    );
    assert_eq!(outcome["done"], 1);
    assert!(h
        .root
        .join("Studio")
        .join(photo["name"].as_str().unwrap())
        .is_file());
    let studio_view: Value = h.ok("open_folder", json!({ "folder": studio }));
    assert!(studio_view["photos"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == photo["id"]));
    let home: Value = h.ok("open_folder", json!({ "folder": null }));
    assert_eq!(Harness::card(&home, "Brighton Beach")["photos"], 2);
    assert_eq!(Harness::card(&home, "Studio")["photos"], 3);

    let trashed: Value = h.ok("trash_assets", json!({ "assets": [photo["id"]] }));
    let entry = trashed["trash_ids"][0].as_str().unwrap().to_string();
    let trash: Vec<Value> = h.ok("list_trash", json!({}));
    assert_eq!(trash.len(), 1);
    assert!(!h
        .root
        .join("Studio")
        .join(photo["name"].as_str().unwrap())
        .exists());
    let _: PathBuf = h.and_wait_for_scan(|| h.ok("restore_trash", json!({ "id": entry })));
    let studio_view: Value = h.ok("open_folder", json!({ "folder": studio }));
    assert!(
        studio_view["photos"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == photo["name"]),
        "re-indexed after restore"
    );
    assert!(h.ok::<Vec<Value>>("list_trash", json!({})).is_empty());
}

#[test]
fn files_dropped_from_the_desktop_are_copied_in_and_indexed() {
    let h = harness();
    let home: Value = h.ok("open_folder", json!({ "folder": null }));
    let studio = Harness::card(&home, "Studio")["id"].clone();
    let dropped = shared_photos().join("cameras/Canon EOS D60.jpg");
    let outcome: Value =
        h.and_wait_for_scan(|| h.ok("import_files", json!({ "paths": [dropped], "to": studio })));
    assert_eq!(outcome["done"], 1);
    let view: Value = h.ok("open_folder", json!({ "folder": studio }));
    let imported = view["photos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Canon EOS D60.jpg")
        .expect("indexed");
    assert_eq!(imported["thumb_state"], "ready");
}

#[test]
fn pause_from_the_tray_changes_and_persists_the_status() {
    let h = harness();
    let status: Value = h.ok("sync_status", json!({}));
    assert_eq!(
        (status["state"].as_str(), status["paused"].as_bool()),
        (Some("not_set_up"), Some(false))
    );
    assert_eq!(status["setup"]["needs"], "pair", "{status}");
    crate::handle_tray_menu(h.app.handle(), "pause");
    let status: Value = h.ok("sync_status", json!({}));
    assert_eq!(
        (status["state"].as_str(), status["summary"].as_str()),
        (Some("paused"), Some("Paused"))
    );
    let saved: Value =
        serde_json::from_slice(&std::fs::read(h.data.join("app.json")).unwrap()).unwrap();
    assert_eq!(saved["paused"], true);
    crate::handle_tray_menu(h.app.handle(), "pause");
    assert_eq!(h.ok::<Value>("sync_status", json!({}))["paused"], false);
    let via_command: Value = h.ok("set_paused", json!({ "paused": true }));
    assert_eq!(via_command["state"], "paused");
}

#[test]
fn errors_cross_the_boundary_as_kind_and_plain_message() {
    let h = harness();
    let error = h
        .call::<Value>("asset_details", json!({ "asset": 987654 }))
        .unwrap_err();
    assert_eq!(error["kind"], "invalid");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("no longer in the library"));
    let error = h
        .call::<Value>("move_folder", json!({ "folder": 987654, "to": 1 }))
        .unwrap_err();
    assert_eq!(error["kind"], "not_found");
    let error = h
        .call::<Value>(
            "save_settings",
            json!({ "settings": { "api_url": "ftp://nope" }, "filters": {} }),
        )
        .unwrap_err();
    assert_eq!(error["kind"], "invalid");
}

/// A one-route HTTP server on 127.0.0.1 that answers every request with
/// `body` and reports the request line and headers it saw.
fn serve_once_per_request(
    status: &str,
    body: String,
    requests: usize,
) -> (String, mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    let status = status.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push_str(&line);
            }
            let mut request_body = vec![0; length];
            reader.read_exact(&mut request_body).unwrap();
            head.push_str(&String::from_utf8_lossy(&request_body));
            let _ = tx.send(head);
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).unwrap();
        }
    });
    (address, rx)
}

fn usage_at_cap() -> photopro_wire::Usage {
    use photopro_wire as wire;
    wire::Usage {
        plan: wire::Plan {
            tier: wire::Tier::Free,
            add_ons: vec![],
        },
        used_bytes: 25 * wire::GIB,
        reserved_bytes: 0,
        limit_bytes: 25 * wire::GIB,
        percent_used: 100.0,
        warning: Some(wire::UsageWarning {
            threshold_percent: 95,
            message: "You have used 100 % of your storage.".into(),
        }),
        classes: vec![wire::ClassUsage {
            storage_class: wire::StorageClass::Standard,
            bytes: 25 * wire::GIB,
            object_count: 1200,
            percent_of_limit: 100.0,
            monthly_cost_usd: 0.38,
        }],
        trash_bytes: 0,
        monthly_storage_cost_usd: 0.38,
        top_folders: vec![],
    }
}

#[test]
fn usage_is_not_connected_until_paired_then_comes_from_the_api_with_an_upgrade_offer() {
    let h = harness();
    let view: Value = h.ok("usage", json!({}));
    assert_eq!(view["state"], "not_connected");

    let token = json!({ "organization_id": uuid_zero(), "device_id": uuid_zero(), "token": "ppd_test-token" });
    let (api, seen) = serve_once_per_request("200 OK", token.to_string(), 1);
    let () = h.ok(
        "pair_device",
        json!({ "apiUrl": api, "code": "k7qx-m2rd", "deviceName": "Test laptop" }),
    );
    let request = seen.recv().unwrap();
    assert!(request.starts_with("POST /v1/devices/pair "), "{request}");
    assert!(
        request.contains("\"pairing_code\":\"k7qx-m2rd\""),
        "{request}"
    );
    assert_eq!(
        std::fs::read_to_string(h.data.join("device-token")).unwrap(),
        "ppd_test-token"
    );
    let settings: Value = h.ok("get_settings", json!({}));
    assert_eq!(settings["paired"], true);
    assert!(
        !settings.to_string().contains("ppd_test-token"),
        "the token never goes to the UI"
    );

    // Point the saved API URL at a server that answers the usage call.
    let (usage_api, seen) =
        serve_once_per_request("200 OK", serde_json::to_string(&usage_at_cap()).unwrap(), 1);
    let mut app_settings: Value = settings["app"].clone();
    app_settings["api_url"] = json!(usage_api);
    let () = h.ok(
        "save_settings",
        json!({ "settings": app_settings, "filters": settings["filters"] }),
    );
    let view: Value = h.ok("usage", json!({}));
    let request = seen.recv().unwrap();
    assert!(request.starts_with("GET /v1/usage "), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("authorization: bearer ppd_test-token"),
        "{request}"
    );
    assert_eq!(view["state"], "connected");
    assert_eq!(view["usage"]["used_bytes"], 25 * photopro_wire::GIB);
    assert_eq!(view["upgrade"]["tier"], "STARTER");

    let (down, _down_requests) = serve_once_per_request(
        "401 Unauthorized",
        r#"{"error":"unauthorized","message":"revoked"}"#.into(),
        1,
    );
    app_settings["api_url"] = json!(down);
    let () = h.ok(
        "save_settings",
        json!({ "settings": app_settings, "filters": settings["filters"] }),
    );
    let view: Value = h.ok("usage", json!({}));
    assert_eq!(view["state"], "unreachable");
    assert!(
        view["message"]
            .as_str()
            .unwrap()
            .contains("Pair the device again"),
        "{view}"
    );
}

fn uuid_zero() -> &'static str {
    "00000000-0000-0000-0000-000000000000"
}

#[test]
fn update_check_reads_a_manifest_served_on_loopback() {
    use tauri_plugin_updater::UpdaterExt;
    let h = harness();
    let target = format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH);
    let manifest = |version: &str| {
        json!({
            "version": version,
            "notes": "Faster grid",
            "pub_date": "2026-01-01T00:00:00Z",
            "platforms": { target.clone(): { "url": "http://127.0.0.1:9/PhotoPro.AppImage.tar.gz", "signature": "dW50cnVzdGVk" } }
        })
        .to_string()
    };
    for (version, expect_update) in [("9.9.9", true), ("0.0.1", false)] {
        let (server, seen) = serve_once_per_request("200 OK", manifest(version), 1);
        let updater = h
            .app
            .updater_builder()
            .endpoints(vec![format!("{server}/update.json").parse().unwrap()])
            .unwrap()
            .build()
            .unwrap();
        let update = tauri::async_runtime::block_on(updater.check()).unwrap();
        assert!(seen.recv().unwrap().starts_with("GET /update.json "));
        assert_eq!(
            update.as_ref().map(|u| u.version.as_str()),
            expect_update.then_some("9.9.9"),
            "manifest {version}"
        );
    }
}

impl Harness {
    /// Poll `sync_status` until `check` holds (bounded).
    fn wait_status(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let status: Value = self.ok("sync_status", json!({}));
            if check(&status) {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}: {status}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Pair with `api_url` (token in the file store) under a device name.
    fn connect(&self, api_url: &str, device: &str) {
        std::fs::write(self.data.join("device-token"), "ppd_test-token").unwrap();
        let settings: Value = self.ok("get_settings", json!({}));
        let mut app = settings["app"].clone();
        app["api_url"] = json!(api_url);
        app["device_name"] = json!(device);
        let () = self.ok(
            "save_settings",
            json!({ "settings": app, "filters": settings["filters"] }),
        );
    }
}

#[test]
fn sync_starts_when_paired_with_a_folder_reports_offline_and_follows_pause_and_limits() {
    let h = harness();
    // Nothing listens on port 9: the API is unreachable.
    h.connect("http://127.0.0.1:9", "Test laptop");
    let status = h.wait_status("the folder to be asked for", |s| {
        s["setup"]["needs"] == "folder"
    });
    assert_eq!(status["state"], "not_set_up");
    assert_eq!(status["summary"], "Sync is not set up");

    let folder = h._dir.path().join("Sync");
    let chosen: PathBuf = h.ok("set_sync_folder", json!({ "path": folder }));
    assert_eq!(chosen, folder.canonicalize().unwrap());
    let config: Value =
        serde_json::from_slice(&std::fs::read(h.data.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        config["sync_folder"],
        json!(chosen),
        "remembered where `photopro sync` reads it"
    );
    let tree: Vec<Value> = h.ok("library_tree", json!({}));
    assert!(
        tree.iter().any(|t| t["library"]["root"] == json!(chosen)),
        "the sync folder can be browsed"
    );

    let offline = h.wait_status("offline", |s| s["state"] == "offline");
    assert_eq!(offline["summary"], "Offline");
    assert_eq!(offline["sync"]["phase"], "offline");
    assert!(
        offline["sync"]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{offline}"
    );
    assert!(h.app.state::<AppState>().sync.is_running());

    let paused: Value = h.ok("set_paused", json!({ "paused": true }));
    assert_eq!(
        (paused["state"].as_str(), paused["summary"].as_str()),
        (Some("paused"), Some("Paused"))
    );
    h.wait_status("the daemon to pause", |s| s["sync"]["phase"] == "paused");
    // Settings saved from a screen that still thinks sync runs do not unpause it.
    let settings: Value = h.ok("get_settings", json!({}));
    let mut app = settings["app"].clone();
    app["paused"] = json!(false);
    app["upload_limit_kib"] = json!(512);
    app["download_limit_kib"] = json!(2048);
    let mut filters = settings["filters"].clone();
    filters["sync_folder"] = Value::Null;
    let () = h.ok(
        "save_settings",
        json!({ "settings": app, "filters": filters }),
    );
    let saved: Value =
        serde_json::from_slice(&std::fs::read(h.data.join("app.json")).unwrap()).unwrap();
    assert_eq!(
        (
            saved["paused"].as_bool(),
            saved["upload_limit_kib"].as_u64()
        ),
        (Some(true), Some(512))
    );
    let config: Value =
        serde_json::from_slice(&std::fs::read(h.data.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        config["sync_folder"],
        json!(chosen),
        "the sync folder survives a settings save"
    );
    // The limits went to the running daemon (no restart: the same daemon stays paused).
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        h.ok::<Value>("sync_status", json!({}))["sync"]["phase"],
        "paused"
    );
    let () = h.ok("sync_now", json!({}));
    let () = h.ok("approve_deletions", json!({}));

    let resumed: Value = h.ok("set_paused", json!({ "paused": false }));
    assert_eq!(resumed["paused"], false);
    h.wait_status("offline again after resuming", |s| s["state"] == "offline");

    // Another sync folder: what was agreed for the old one is forgotten, so
    // the new one is compared afresh instead of reading as all deleted.
    let state = h.app.state::<AppState>();
    let remote = {
        let mut index = state.writer();
        let remote = index
            .ensure_remote("photoproos-storage", "photopro")
            .unwrap();
        let row = photopro_index::SyncBaseRow {
            local_id: 1,
            remote_node: "r".into(),
            remote_parent: None,
            name: "a.jpg".into(),
            is_dir: false,
            hash: None,
        };
        index.put_sync_base(remote, &row).unwrap();
        remote
    };
    let other: PathBuf = h.ok(
        "set_sync_folder",
        json!({ "path": h._dir.path().join("Other") }),
    );
    h.wait_status("the daemon on the new folder", |s| {
        s["sync"]["folder"] == json!(other) && s["state"] == "offline"
    });
    assert!(state.reader().sync_base(remote).unwrap().is_empty());

    // Unpairing stops sync and says why.
    let () = h.ok("sign_out", json!({}));
    let status = h.wait_status("sync to stop", |s| s["setup"]["needs"] == "pair");
    assert!(status["sync"].is_null());
    h.app.state::<AppState>().sync.stop();
}

#[test]
fn conflicts_are_listed_and_resolved_and_the_other_version_waits_in_the_sync_trash() {
    let h = harness();
    h.connect("http://127.0.0.1:9", "Test laptop");
    let folder = h._dir.path().join("Sync");
    let gallery = folder.join("Smith Wedding");
    std::fs::create_dir_all(&gallery).unwrap();
    std::fs::write(gallery.join("IMG_1.jpg"), b"their edit").unwrap();
    let copy = "Smith Wedding/IMG_1 (conflicted copy 2026-11-26 from Test laptop).jpg";
    std::fs::write(folder.join(copy), b"my edit").unwrap();
    std::fs::write(
        folder.join("Smith Wedding/IMG_2 (conflicted copy 2026-11-26 from Studio iMac).jpg"),
        b"theirs 2",
    )
    .unwrap();
    std::fs::write(gallery.join("IMG_2.jpg"), b"mine 2").unwrap();

    assert!(
        h.ok::<Vec<Value>>("list_conflicts", json!({})).is_empty(),
        "no sync folder, no conflicts"
    );
    let _: PathBuf = h.and_wait_for_scan(|| h.ok("set_sync_folder", json!({ "path": folder })));
    let conflicts: Vec<Value> = h.ok("list_conflicts", json!({}));
    assert_eq!(conflicts.len(), 2);
    assert!(
        conflicts[0]["copy_asset"].is_number() && conflicts[0]["original_asset"].is_number(),
        "both versions are indexed: {conflicts:?}"
    );
    assert_ne!(conflicts[0]["copy_asset"], conflicts[0]["original_asset"]);
    assert_eq!(conflicts[0]["copy"], copy);
    assert_eq!(conflicts[0]["original"], "Smith Wedding/IMG_1.jpg");
    assert_eq!(
        (
            conflicts[0]["copy_is_mine"].as_bool(),
            conflicts[0]["device"].as_str()
        ),
        (Some(true), Some("Test laptop"))
    );
    assert_eq!(conflicts[1]["copy_is_mine"], false);

    let kept: PathBuf = h.ok(
        "resolve_conflict",
        json!({ "copy": copy, "resolution": "keep_mine" }),
    );
    assert_eq!(kept, gallery.canonicalize().unwrap().join("IMG_1.jpg"));
    assert_eq!(
        std::fs::read(gallery.join("IMG_1.jpg")).unwrap(),
        b"my edit"
    );
    let kept: PathBuf = h.ok("resolve_conflict", json!({ "copy": "Smith Wedding/IMG_2 (conflicted copy 2026-11-26 from Studio iMac).jpg", "resolution": "keep_both" }));
    assert!(
        kept.ends_with("Smith Wedding/IMG_2 (from Studio iMac).jpg"),
        "{kept:?}"
    );
    assert!(h.ok::<Vec<Value>>("list_conflicts", json!({})).is_empty());

    let trash: Vec<Value> = h.ok("list_sync_trash", json!({}));
    assert_eq!(trash.len(), 1, "their version of IMG_1 is kept: {trash:?}");
    assert_eq!(trash[0]["original"], "Smith Wedding/IMG_1.jpg");
    assert_eq!(trash[0]["bytes"], 10);
    let restored: PathBuf = h.ok("restore_sync_trash", json!({ "id": trash[0]["id"] }));
    assert_eq!(std::fs::read(&restored).unwrap(), b"their edit");
    assert_ne!(
        restored,
        gallery.join("IMG_1.jpg"),
        "restored beside my version, never over it"
    );
    assert!(h.ok::<Vec<Value>>("list_sync_trash", json!({})).is_empty());

    let error = h
        .call::<Value>(
            "resolve_conflict",
            json!({ "copy": copy, "resolution": "keep_theirs" }),
        )
        .unwrap_err();
    assert_eq!(error["kind"], "not_found", "{error}");
    let error = h.call::<Value>("resolve_conflict", json!({ "copy": "../../etc/passwd (conflicted copy 2026-11-26 from X)", "resolution": "keep_theirs" })).unwrap_err();
    assert_eq!(error["kind"], "sync", "{error}");
    let error = h
        .call::<Value>("restore_sync_trash", json!({ "id": "17-42" }))
        .unwrap_err();
    assert!(error["message"].as_str().unwrap().len() > 5, "{error}");
    let error = h
        .call::<Value>("restore_sync_trash", json!({ "id": "../../etc" }))
        .unwrap_err();
    assert_eq!(error["kind"], "invalid");
    h.app.state::<AppState>().sync.stop();
}

#[test]
fn cards_in_the_sync_folder_name_their_client_when_the_folder_layout_has_a_client_level() {
    let h = harness();
    let folder = h._dir.path().join("Sync");
    let gallery = folder.join("Smith, John/Smith Wedding");
    std::fs::create_dir_all(&gallery).unwrap();
    std::fs::copy(
        shared_photos().join("cameras/Canon EOS 7D.jpg"),
        gallery.join("IMG_1.jpg"),
    )
    .unwrap();
    let _: PathBuf = h.and_wait_for_scan(|| h.ok("set_sync_folder", json!({ "path": folder })));
    let tree: Vec<Value> = h.ok("library_tree", json!({}));
    let sync_root = tree
        .iter()
        .find(|t| t["name"] == "Sync")
        .expect("the sync library")["root"]
        .clone();

    let open = |id: &Value| -> Value { h.ok("open_folder", json!({ "folder": id })) };
    let clients = Harness::card(&open(&sync_root), "Smith, John")["id"].clone();
    assert!(
        Harness::card(&open(&sync_root), "Smith, John")["client"].is_null(),
        "no layout known: no client"
    );

    let state = h.app.state::<AppState>();
    let by_client = photopro_wire::OrganizationSettings {
        organization_rules: vec![photopro_wire::OrganizationLevel::ByClient],
        ..Default::default()
    };
    assert!(state.set_layout(&by_client).unwrap());
    assert!(!state.set_layout(&by_client).unwrap(), "unchanged");
    assert_eq!(
        Harness::card(&open(&sync_root), "Smith, John")["client"],
        json!({ "role": "client" })
    );
    let card = Harness::card(&open(&clients), "Smith Wedding").clone();
    assert_eq!(
        card["client"],
        json!({ "role": "of", "name": "Smith, John" })
    );
    assert_eq!(
        card["photos"], 1,
        "the index's totals are still there: {card}"
    );
    // Folders outside the sync folder are not filed by the organization's layout.
    let home: Value = h.ok("open_folder", json!({ "folder": null }));
    assert!(Harness::card(&home, "Brighton Beach")["client"].is_null());
    // The layout is cached for offline starts.
    assert!(h.data.join("organization.json").is_file());
}

#[test]
fn finished_uploads_conflicts_and_storage_full_notify_when_notifications_are_on() {
    use photopro_sync::service::{PassSummary, Phase, ServiceEvent};
    let h = harness();
    let state = h.app.state::<AppState>();
    let generation = state.sync.generation();
    let event = |phase: Phase| {
        ServiceEvent::Status(photopro_sync::service::Status {
            phase,
            ..base_status()
        })
    };
    let pass = |folders: Vec<(&str, usize)>, conflicts| PassSummary {
        uploads: folders.iter().map(|f| f.1).sum(),
        conflicts,
        uploaded_folders: folders
            .into_iter()
            .map(|(f, n)| (f.to_string(), n))
            .collect(),
        ..PassSummary::default()
    };
    let notified = || state.sync.notified.lock().unwrap().clone();

    // A shoot uploads over two passes: one notification, once sync is up to date.
    crate::sync::on_event(h.app.handle(), generation, &event(Phase::Syncing));
    crate::sync::on_event(
        h.app.handle(),
        generation,
        &ServiceEvent::PassFinished(pass(vec![("Smith, John/Smith Wedding", 200)], 0)),
    );
    assert!(notified().is_empty(), "not finished yet");
    crate::sync::on_event(h.app.handle(), generation, &event(Phase::UpToDate));
    crate::sync::on_event(
        h.app.handle(),
        generation,
        &ServiceEvent::PassFinished(pass(vec![("Smith, John/Smith Wedding", 40)], 2)),
    );
    assert_eq!(
        notified(),
        [
            "Upload finished: Smith Wedding finished uploading — 240 files",
            "Choose which version to keep: 2 photos were changed on two computers. Both versions are kept — choose in PhotoPro."
        ]
    );
    crate::sync::on_event(h.app.handle(), generation, &event(Phase::StorageFull));
    crate::sync::on_event(h.app.handle(), generation, &event(Phase::StorageFull));
    assert_eq!(
        notified().len(),
        3,
        "storage full is said once: {:?}",
        notified()
    );
    assert!(notified()[2].starts_with("Storage full: "));
    // Events of a daemon that was replaced are ignored.
    crate::sync::on_event(h.app.handle(), generation + 7, &event(Phase::UpToDate));
    assert_eq!(
        h.ok::<Value>("sync_status", json!({}))["state"],
        "storage_full"
    );

    // Notifications off: nothing more.
    let settings: Value = h.ok("get_settings", json!({}));
    let mut app = settings["app"].clone();
    app["notifications"] = json!(false);
    let () = h.ok(
        "save_settings",
        json!({ "settings": app, "filters": settings["filters"] }),
    );
    crate::sync::on_event(
        h.app.handle(),
        state.sync.generation(),
        &event(Phase::UpToDate),
    );
    crate::sync::on_event(
        h.app.handle(),
        state.sync.generation(),
        &ServiceEvent::PassFinished(pass(vec![("Jones", 3)], 1)),
    );
    assert_eq!(notified().len(), 3);
}

/// Issue 10 item 9: the app's status could stay behind the daemon's. Two
/// threads publishing at once (the daemon finishing a pass, a library scan, a
/// command) each read the state, then sent it: the one that read first could
/// send last, and the UI kept "Syncing…" after the daemon said "Up to date".
/// The first publisher is held between reading and sending while the daemon
/// publishes "Up to date"; what is sent last must be the newest.
#[test]
fn a_status_read_before_a_newer_one_is_never_published_after_it() {
    use photopro_sync::service::{Phase, ServiceEvent};
    use std::sync::{Arc, Mutex};
    let h = harness();
    let state = h.app.state::<AppState>();
    let generation = state.sync.generation();
    let event = |phase: Phase| {
        ServiceEvent::Status(photopro_sync::service::Status {
            phase,
            ..base_status()
        })
    };
    crate::sync::on_event(h.app.handle(), generation, &event(Phase::Syncing));
    let (heard_tx, heard) = mpsc::channel::<Value>();
    let heard_tx = Mutex::new(heard_tx);
    h.app.listen(crate::events::STATUS_EVENT, move |e| {
        let _ = heard_tx
            .lock()
            .unwrap()
            .send(serde_json::from_str(e.payload()).unwrap());
    });
    let (entered_tx, entered) = mpsc::channel();
    let (release_tx, release) = mpsc::channel::<()>();
    let once = Mutex::new(Some((entered_tx, release)));
    *state.sync.before_publish.lock().unwrap() = Some(Arc::new(move |status| {
        let first = once.lock().unwrap().take();
        if let Some((entered, release)) = first {
            entered.send(status.sync.as_ref().map(|s| s.phase)).unwrap();
            release.recv().unwrap();
        }
    }));
    // A publisher (a scan's progress, a command) reads "Syncing" and is held.
    let app = h.app.handle().clone();
    let first = std::thread::spawn(move || {
        let state = app.state::<AppState>();
        crate::events::publish_status(&app, &state);
    });
    assert_eq!(
        entered.recv_timeout(Duration::from_secs(10)).unwrap(),
        Some(Phase::Syncing)
    );
    // Meanwhile the daemon finishes its pass.
    let app = h.app.handle().clone();
    let (daemon_done_tx, daemon_done) = mpsc::channel();
    let daemon = std::thread::spawn(move || {
        crate::sync::on_event(&app, generation, &event(Phase::UpToDate));
        let _ = daemon_done_tx.send(());
    });
    // Before the fix the daemon's publish went through at once; after it, it
    // waits for the held one. Either way the held publisher goes on now.
    let _ = daemon_done.recv_timeout(Duration::from_secs(2));
    release_tx.send(()).unwrap();
    first.join().unwrap();
    daemon.join().unwrap();
    let sent: Vec<Value> = (0..2)
        .map(|_| heard.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    let phases: Vec<&str> = sent
        .iter()
        .map(|s| s["sync"]["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases.last(),
        Some(&"up_to_date"),
        "the last status sent is the newest: {phases:?}"
    );
    let seqs: Vec<u64> = sent.iter().map(|s| s["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "numbered in the order sent: {seqs:?}"
    );
    // A command's answer read now is newer than everything sent.
    let now: Value = h.ok("sync_status", json!({}));
    assert!(now["seq"].as_u64().unwrap() > *seqs.last().unwrap());
    assert_eq!(now["sync"]["phase"], "up_to_date");
}

fn base_status() -> photopro_sync::service::Status {
    photopro_sync::service::Status {
        phase: photopro_sync::service::Phase::Starting,
        summary: String::new(),
        progress: Default::default(),
        last_report: None,
        last_synced_at: None,
        last_error: None,
        unsettled: 0,
        storage_full: false,
        deletions_awaiting_approval: 0,
        deletions_in_window: 0,
        watch_degraded: None,
        skipped: vec![],
        cannot_sync: vec![],
        waiting_for: vec![],
        folder: "/Sync".into(),
    }
}

/// A `photopro sync` daemon (played by this test: the library lock and a
/// control channel answering with its status) already syncs the library.
struct CliDaemon {
    status: std::sync::Mutex<photopro_sync::service::Status>,
}

impl photopro_sync::control::Controlled for CliDaemon {
    fn status(&self) -> photopro_sync::service::Status {
        self.status.lock().unwrap().clone()
    }
    fn is_paused(&self) -> bool {
        false
    }
    fn pause(&self) {}
    fn resume(&self) {}
    fn approve_deletions(&self) {}
    fn sync_now(&self, _approve: bool) -> photopro_sync::service::PassSummary {
        Default::default()
    }
    fn stop(&self) {}
}

#[test]
fn a_library_synced_by_the_cli_daemon_is_shown_not_synced_twice() {
    use photopro_sync::{control, lock::LibraryLock};
    let h = harness();
    let state_dir = photopro_sync::service::state_dir(&h.app.state::<AppState>().dirs);
    let cli_lock = LibraryLock::try_acquire(&state_dir, "daemon")
        .unwrap()
        .unwrap();
    let mut cli_status = base_status();
    cli_status.phase = photopro_sync::service::Phase::UpToDate;
    cli_status.summary = "Up to date".into();
    let daemon = std::sync::Arc::new(CliDaemon {
        status: std::sync::Mutex::new(cli_status),
    });
    let cli = control::serve(&state_dir, "daemon", daemon.clone()).unwrap();

    h.connect("http://127.0.0.1:9", "Test laptop");
    let folder = h._dir.path().join("Sync");
    let _: PathBuf = h.ok("set_sync_folder", json!({ "path": folder }));
    let status = h.wait_status("the CLI daemon's status", |s| {
        s["setup"]["needs"] == "elsewhere"
    });
    assert!(
        status["setup"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("photopro sync")),
        "{status}"
    );
    assert_eq!(status["sync"]["phase"], "up_to_date", "{status}");
    assert!(
        !h.app.state::<AppState>().sync.is_running(),
        "no second engine"
    );

    // What the CLI daemon does next shows in the app without any command.
    {
        let mut status = daemon.status.lock().unwrap();
        status.phase = photopro_sync::service::Phase::Syncing;
        status.summary = "Syncing 3 files".into();
    }
    h.wait_status("the CLI daemon's new status", |s| {
        s["sync"]["summary"] == "Syncing 3 files"
    });

    // The CLI daemon quits: the app's own daemon takes the library over by
    // itself, and `photopro` commands now reach the app.
    drop(cli);
    drop(cli_lock);
    h.wait_status("the app's daemon", |s| s["state"] == "offline");
    assert!(h.app.state::<AppState>().sync.is_running());
    let reply = control::connect(&state_dir)
        .expect("the app listens")
        .request(control::Request::Status)
        .unwrap();
    assert_eq!(reply.role, "app");
    assert!(LibraryLock::try_acquire(&state_dir, "daemon")
        .unwrap()
        .is_err());
    h.app.state::<AppState>().sync.stop();
    assert!(LibraryLock::try_acquire(&state_dir, "daemon")
        .unwrap()
        .is_ok());
}
