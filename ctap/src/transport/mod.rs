//! Report transports: move one 64-byte CTAPHID report at a time.
