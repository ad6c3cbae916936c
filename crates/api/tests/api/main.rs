//! Integration tests: a real API on 127.0.0.1:0, a real HTTP client, a real
//! S3-compatible store, and every story on SQLite and on PostgreSQL.

mod support;

mod cli;
mod copy;
mod folders;
mod hygiene;
mod integrity;
mod journal;
mod model;
mod modified_at;
mod race;
mod replace;
mod security;
mod storage_class;
mod store_conformance;
mod sweep;
mod tree;
mod uploads;
