//! `cargo run -p photopro-app --example keychain_roundtrip`
//!
//! The device-token store against the real OS keychain (on Linux the Secret
//! Service, e.g. gnome-keyring): set, read back, clear, read nothing. Exits
//! non-zero with the store's own message when the keychain is unavailable.

use photopro_app::secrets::TokenStore;

fn main() {
    let store = TokenStore::Keychain;
    let token = format!("ppd_roundtrip-{}", std::process::id());
    let check = || -> photopro_app::error::Result<()> {
        store.set(&token)?;
        assert_eq!(
            store.get()?.as_deref(),
            Some(token.as_str()),
            "the keychain returns what was stored"
        );
        store.clear()?;
        assert_eq!(store.get()?, None, "a cleared token is gone");
        store.clear()?; // clearing twice is fine
        Ok(())
    };
    match check() {
        Ok(()) => println!("keychain round trip ok ({})", store.describe()),
        Err(error) => {
            eprintln!("keychain round trip failed: {error}");
            std::process::exit(1);
        }
    }
}
