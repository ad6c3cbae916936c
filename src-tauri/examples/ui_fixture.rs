//! `cargo run -p photopro-app --example ui_fixture -- DATA_DIR OUT.json`
//!
//! Opens the app on Tauri's mock runtime over an existing data dir, invokes
//! the read-only commands through IPC exactly as the web UI would, and writes
//! every answer (keyed `command:argument`) plus the cached thumbnail file of
//! every photo to OUT.json. The browser E2E layer (tests/e2e/browser.test.mjs)
//! replays these answers, so the UI it drives shows the real library.

use photopro_media::ThumbnailSize;
use serde_json::{json, Map, Value};
use tauri::test::{mock_builder, MockRuntime};
use tauri::{Manager, WebviewWindow, WebviewWindowBuilder};

fn call(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Value {
    let request = tauri::webview::InvokeRequest {
        cmd: cmd.into(),
        callback: tauri::ipc::CallbackFn(0),
        error: tauri::ipc::CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: tauri::ipc::InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: tauri::test::INVOKE_KEY.to_string(),
    };
    match tauri::test::get_ipc_response(window, request) {
        Ok(body) => body.deserialize().unwrap(),
        Err(error) => panic!("{cmd} failed: {error}"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(data), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: ui_fixture DATA_DIR OUT.json");
        std::process::exit(2);
    };
    let state =
        photopro_app::state::AppState::open(Some(data.clone().into())).expect("open the data dir");
    let app = photopro_app::build_app(
        mock_builder(),
        tauri::generate_context!(test = true),
        state,
        false,
    )
    .unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    let mut responses = Map::new();
    let tree = call(&window, "library_tree", json!({}));
    responses.insert(
        "open_folder:null".into(),
        call(&window, "open_folder", json!({ "folder": null })),
    );
    let mut thumbnails = Map::new();
    for library in tree.as_array().unwrap() {
        for node in library["folders"].as_array().unwrap() {
            let id = &node["id"];
            let view = call(&window, "open_folder", json!({ "folder": id }));
            for photo in view["photos"].as_array().unwrap() {
                let state = app.state::<photopro_app::state::AppState>();
                let hash = photo["content_hash"]
                    .as_str()
                    .and_then(photopro_media::ContentHash::from_hex);
                for (name, size) in [
                    ("grid", ThumbnailSize::Grid),
                    ("preview", ThumbnailSize::Preview),
                ] {
                    // As the app does when the viewer opens: a preview is
                    // rendered on its first request, through the real handler.
                    let _ = photopro_app::protocol::thumbnail(
                        &state,
                        &format!("/{name}/{}", photo["id"]),
                    );
                    let path = hash
                        .as_ref()
                        .map(|h| state.thumbnails.path(h, size))
                        .filter(|p| p.is_file());
                    if let Some(path) = path {
                        thumbnails.insert(format!("{name}/{}", photo["id"]), json!(path));
                    }
                }
                responses.insert(
                    format!("asset_details:{}", photo["id"]),
                    call(&window, "asset_details", json!({ "asset": photo["id"] })),
                );
            }
            responses.insert(format!("open_folder:{id}"), view);
            responses.insert(
                format!("folder_strip:{id}"),
                call(&window, "folder_strip", json!({ "folder": id })),
            );
        }
    }
    responses.insert("library_tree".into(), tree);
    for cmd in [
        "library_status",
        "sync_status",
        "get_settings",
        "list_trash",
        "usage",
        "list_conflicts",
        "list_sync_trash",
    ] {
        responses.insert(cmd.into(), call(&window, cmd, json!({})));
    }
    let fixture = json!({ "data_dir": data, "responses": responses, "thumbnails": thumbnails });
    std::fs::write(&out, serde_json::to_vec_pretty(&fixture).unwrap()).expect("write the fixture");
    eprintln!(
        "wrote {out}: {} answers, {} thumbnails",
        fixture["responses"].as_object().unwrap().len(),
        fixture["thumbnails"].as_object().unwrap().len()
    );
}
