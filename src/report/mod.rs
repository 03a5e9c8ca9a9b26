//! Reports, the last stage: plain figures for people, built from the lake's derived tables.
//! [`trends`]: one period against another (week over week, the monthly review);
//! [`opportunities`]: candidate optimisations with their reach.

pub mod opportunities;
pub mod trends;
