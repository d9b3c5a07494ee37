//! Application settings: GET /settings (settings.read), PUT /settings (settings.write).
//! The settings are a fixed, typed set; PUT replaces them all in one statement.

use serde::{Deserialize, Serialize};
use shared::auth::permissions::Permission;
use shared::pipeline::contract::Example;
use shared::pipeline::typed::{Data, Json};
use shared::{clients::postgrest, pipeline::input, ApiError, App, SignedIn};
use validator::Validate;

use crate::validate;

/// Every setting; PUT sends them all.
#[derive(Debug, Serialize, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    #[serde(deserialize_with = "input::trimmed")]
    #[validate(custom(function = "validate::short_name"))]
    #[schema(schema_with = validate::schema::short_name)]
    pub site_name: String,
    #[serde(deserialize_with = "input::trimmed")]
    #[validate(custom(function = "validate::email"))]
    #[schema(schema_with = validate::schema::email)]
    pub support_email: String,
    pub maintenance_mode: bool,
    pub signups_enabled: bool,
}

impl Example for Settings {
    const EXAMPLE: &'static str = concat!(
        r#"{"siteName":"Acme","supportEmail":"support@acme.example","#,
        r#""maintenanceMode":false,"signupsEnabled":true}"#
    );
}

/// The stored keys of each field (snake_case in the table).
const KEYS: [&str; 4] = [
    "site_name",
    "support_email",
    "maintenance_mode",
    "signups_enabled",
];

#[derive(Deserialize)]
struct Row {
    key: String,
    value: serde_json::Value,
}

fn from_rows(rows: Vec<Row>) -> Result<Settings, ApiError> {
    let map: serde_json::Map<String, serde_json::Value> = rows
        .into_iter()
        .filter(|r| KEYS.contains(&r.key.as_str()))
        .map(|r| (shared::base::error::camel_case(&r.key), r.value))
        .collect();
    serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|_| ApiError::internal("stored settings do not match the schema"))
}

/// GET /settings
pub async fn get(app: App, caller: SignedIn) -> Result<Data<Settings>, ApiError> {
    let user = &caller.user;
    // The token's claim first (no request), then one call of get_settings, which
    // confirms settings.read in the database: a demoted admin's older token is not enough.
    user.require(Permission::SettingsRead)?;
    let rows: Vec<Row> = postgrest::call(
        app.db.as_user(&caller).rpc(&crate::sql::GetSettings {})?,
        "Settings",
    )
    .await?;
    Ok(Data(from_rows(rows)?))
}

/// PUT /settings
pub async fn put(
    app: App,
    caller: SignedIn,
    Json(settings): Json<Settings>,
) -> Result<Data<Settings>, ApiError> {
    let user = &caller.user;
    user.require(Permission::SettingsWrite)?;
    let value = serde_json::to_value(&settings)
        .map_err(|_| ApiError::internal("settings serialization"))?;
    let rows: Vec<serde_json::Value> = KEYS
        .iter()
        .map(
            |k| serde_json::json!({ "key": k, "value": value[shared::base::error::camel_case(k)] }),
        )
        .collect();
    let stored: Vec<Row> = postgrest::many(
        app.db
            .as_user(&caller)
            .table("app_settings")
            .upsert(postgrest::body(&rows)?)
            .on_conflict("key")
            .select("key,value"),
    )
    .await?;
    Ok(Data(from_rows(stored)?))
}
