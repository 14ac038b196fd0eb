//! `sluice new`: plugin projects from templates.
