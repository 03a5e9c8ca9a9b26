//! Reports, the last stage: plain figures for people, built from the lake's derived tables.
//! [`trends`]: week over week.

pub mod trends;
