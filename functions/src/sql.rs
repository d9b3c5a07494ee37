//! The database functions the routes call, each a typed call (`shared::sql_functions!`):
//! its arguments by the names and SQL types the function has, checked against `pg_proc`
//! by tests/tests/api/sql_functions.rs. The pipeline's own are in shared/src/clients/sql.rs.
//! Their definitions are in supabase/schemas/.

use serde_json::Value;
use shared::auth::permissions::Role;
use uuid::Uuid;

use crate::workspace_role::WorkspaceRole;

shared::sql_functions! {
    // Workspaces (supabase/schemas/06_workspaces.sql).
    CreateWorkspace = "create_workspace" (name: String = "text");
    AddWorkspaceMember = "add_workspace_member" (
        p_workspace_id: Uuid = "uuid",
        p_user_id: Uuid = "uuid",
        p_role: WorkspaceRole = "workspace_role",
    );
    RemoveWorkspaceMember = "remove_workspace_member" (
        p_workspace_id: Uuid = "uuid",
        p_user_id: Uuid = "uuid",
    );
    // Projects.
    CreateProject = "create_project" (
        p_workspace_id: Uuid = "uuid",
        p_name: String = "text",
        p_description: Option<String> = "text",
    );
    ListProjects = "list_projects" (
        p_workspace_id: Option<Uuid> = "uuid",
        p_limit: usize = "integer",
        p_offset: usize = "integer",
    );
    UpdateProject = "update_project" (p_id: Uuid = "uuid", p_changes: Value = "jsonb");
    DeleteProject = "delete_project" (p_id: Uuid = "uuid");
    // Posts (supabase/schemas/07_posts.sql).
    ListPosts = "list_posts" (p_limit: usize = "integer", p_offset: usize = "integer");
    CreatePost = "create_post" (p_title: String = "text", p_body: String = "text");
    UpdatePost = "update_post" (p_id: Uuid = "uuid", p_changes: Value = "jsonb");
    PublishPost = "publish_post" (p_id: Uuid = "uuid");
    DeletePost = "delete_post" (p_id: Uuid = "uuid");
    // Settings and the audit log.
    GetSettings = "get_settings" ();
    ListAuditLog = "list_audit_log" (p_limit: usize = "integer", p_offset: usize = "integer");
    // Uploads (supabase/schemas/09_uploads.sql).
    CreateUpload = "create_upload" (
        p_id: Uuid = "uuid",
        p_original_name: String = "text",
        p_content_type: String = "text",
        p_size_bytes: i64 = "bigint",
    );
    SetUploadStatus = "set_upload_status" (
        p_id: Uuid = "uuid",
        p_owner: Uuid = "uuid",
        p_ready: bool = "boolean",
        p_reason: Option<String> = "text",
    );
    // The storage sweep and the expiry of bookkeeping rows (16_expiry_sweep.sql).
    SweepExpiredRows = "sweep_expired_rows" ();
    ClaimStorageDeletions = "claim_storage_deletions" (p_limit: u32 = "integer");
    FinishStorageDeletions = "finish_storage_deletions" (
        p_deleted: Vec<String> = "text[]",
        p_failed: Vec<String> = "text[]",
        p_error: Option<String> = "text",
    );
    // Users, accounts and sessions.
    Me = "me" ();
    ListUsers = "list_users" (
        p_search: Option<String> = "text",
        p_limit: usize = "integer",
        p_offset: usize = "integer",
    );
    GetUser = "get_user" (p_id: Uuid = "uuid");
    ClaimIdempotencyKey = "claim_idempotency_key" (
        p_operation: String = "text",
        p_request: Value = "jsonb",
    );
    ReleaseIdempotencyKey = "release_idempotency_key" ();
    FinishUserCreation = "finish_user_creation" (
        p_id: Uuid = "uuid",
        p_role: Role = "app_role",
        p_name: String = "text",
    );
    AccountDeletionBlockers = "account_deletion_blockers" (p_user: Uuid = "uuid");
    ExportMyData = "export_my_data" (
        p_part: String = "text",
        p_limit: usize = "integer",
        p_offset: usize = "integer",
    );
    ListMySessions = "list_my_sessions" (p_limit: usize = "integer", p_offset: usize = "integer");
    RevokeMySession = "revoke_my_session" (p_id: Uuid = "uuid");
    // Sign-up and sign-in (13_sign_up_and_sign_in.sql).
    HitAuthLimit = "hit_auth_limit" (p_rule: String = "text", p_subject: String = "text");
    BindSignUp = "bind_sign_up" (
        p_email: String = "text",
        p_password: String = "text",
        p_flow: String = "text",
    );
    RecordSignIn = "record_sign_in" (
        p_user: Uuid = "uuid",
        p_provider: String = "text",
        p_method: String = "text",
        p_ip: Option<String> = "text",
        p_user_agent: Option<String> = "text",
    );
    PrepareEmailConfirmation = "prepare_email_confirmation" (
        p_token_hash: String = "text",
        p_flow: Option<String> = "text",
    );
}
