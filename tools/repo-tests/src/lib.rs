//! Nothing to build: this crate holds the tests of the repository as a whole (`tests/it/`), which
//! belong to no one crate: the house's layers, the documents' references, the template as
//! deployed, the deploy rehearsal.
