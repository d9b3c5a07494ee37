//! Application roles and permissions: the same table as `public.role_permissions` in
//! supabase/migrations (a test compares them). Functions use the token's `user_role`
//! claim (added by the custom access token hook) for a fast deny; Postgres checks the
//! role in `user_roles` again on every row, so a demotion takes effect at once there.

use serde::{Deserialize, Serialize};

/// A user's app-wide role (`public.user_roles`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Editor,
    User,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    utoipa::ToSchema,
)]
pub enum Permission {
    #[serde(rename = "users.read")]
    UsersRead,
    #[serde(rename = "users.write")]
    UsersWrite,
    #[serde(rename = "users.delete")]
    UsersDelete,
    #[serde(rename = "posts.read")]
    PostsRead,
    #[serde(rename = "posts.write")]
    PostsWrite,
    #[serde(rename = "posts.delete")]
    PostsDelete,
    #[serde(rename = "posts.publish")]
    PostsPublish,
    #[serde(rename = "settings.read")]
    SettingsRead,
    #[serde(rename = "settings.write")]
    SettingsWrite,
}

use Permission::*;

pub const ROLE_PERMISSIONS: &[(Role, &[Permission])] = &[
    (
        Role::Admin,
        &[
            UsersRead,
            UsersWrite,
            UsersDelete,
            PostsRead,
            PostsWrite,
            PostsDelete,
            PostsPublish,
            SettingsRead,
            SettingsWrite,
        ],
    ),
    (
        Role::Editor,
        &[PostsRead, PostsWrite, PostsPublish, UsersRead],
    ),
    (Role::User, &[PostsRead, PostsWrite]),
];

impl Role {
    pub fn permissions(self) -> &'static [Permission] {
        ROLE_PERMISSIONS
            .iter()
            .find(|(r, _)| *r == self)
            .map(|(_, p)| *p)
            .unwrap_or(&[])
    }

    pub fn can(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::User => "user",
        }
    }
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            UsersRead => "users.read",
            UsersWrite => "users.write",
            UsersDelete => "users.delete",
            PostsRead => "posts.read",
            PostsWrite => "posts.write",
            PostsDelete => "posts.delete",
            PostsPublish => "posts.publish",
            SettingsRead => "settings.read",
            SettingsWrite => "settings.write",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_design() {
        assert!(Role::Admin.can(SettingsWrite));
        assert!(Role::Editor.can(PostsPublish) && Role::Editor.can(UsersRead));
        assert!(!Role::Editor.can(UsersWrite) && !Role::Editor.can(PostsDelete));
        assert!(Role::User.can(PostsWrite) && !Role::User.can(UsersRead));
        assert_eq!(Role::Admin.permissions().len(), 9);
        assert_eq!(
            serde_json::to_string(&PostsPublish).unwrap(),
            "\"posts.publish\""
        );
    }
}
