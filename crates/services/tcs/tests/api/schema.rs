//! The SQLite and PostgreSQL migrations make the same schema.

#[tokio::test]
async fn the_sqlite_and_postgresql_migrations_make_the_same_schema() {
    tis_service_kit::testing::schema::assert_migrations_agree(tis_tcs::migrations()).await;
}
