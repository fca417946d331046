//! Passkey Kiosk as a library, so tests build the app without `main`.
