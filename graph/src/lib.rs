//! Microsoft Graph and identity-platform client for FIDO2 provisioning on behalf of users.
