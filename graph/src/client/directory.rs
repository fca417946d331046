//! Directory look-ups: the provisioning group (by name or id) and its members.

use super::GraphClient;
use crate::error::{Error, GroupCandidate, Result};
use crate::ids::{encode, path_segment};
use crate::wire::{DirectoryObject, Group, Members};

fn check_name(what: &str, v: &str) -> Result<()> {
    if v.trim().is_empty() {
        return Err(Error::InvalidArgument(format!("{what} is empty")));
    }
    Ok(())
}

impl GraphClient {
    /// Finds the one group with this exact display name. None → `GroupNotFound`, several →
    /// `AmbiguousGroup` (never silently takes the first one).
    pub async fn find_group_by_name(&self, name: &str) -> Result<Group> {
        check_name("group name", name)?;
        let filter = format!("displayName eq '{}'", name.replace('\'', "''"));
        let url = self.url(
            "groups",
            Some(&format!(
                "$filter={}&$select=id,displayName",
                encode(&filter)
            )),
        )?;
        let groups: Vec<Group> = self.get_all("find group", url).await?;
        match groups.len() {
            0 => Err(Error::GroupNotFound {
                name: name.to_owned(),
            }),
            1 => groups.into_iter().next().ok_or(Error::GroupNotFound {
                name: name.to_owned(),
            }),
            _ => Err(Error::AmbiguousGroup {
                name: name.to_owned(),
                candidates: groups
                    .into_iter()
                    .map(|g| GroupCandidate {
                        id: g.id,
                        display_name: g.display_name.unwrap_or_default(),
                    })
                    .collect(),
            }),
        }
    }

    /// A group by object id; 404 → `GroupNotFound`.
    pub async fn group_by_id(&self, id: &str) -> Result<Group> {
        let url = self.url(
            &format!("groups/{}", path_segment("group id", id)?),
            Some("$select=id,displayName"),
        )?;
        match self.get_json::<Group>("get group", url).await {
            Err(Error::Graph(g)) if g.status == 404 => Err(Error::GroupNotFound {
                name: id.to_owned(),
            }),
            r => r,
        }
    }

    /// Members of a group (direct, or `transitive` = nested groups flattened), every page. Only
    /// `#microsoft.graph.user` members who are not guests are returned as users; everything else
    /// is in `skipped` with the reason, for the caller's report.
    pub async fn members(&self, group_id: &str, transitive: bool) -> Result<Members> {
        let rel = if transitive {
            "transitiveMembers"
        } else {
            "members"
        };
        let url = self.url(
            &format!("groups/{}/{rel}", path_segment("group id", group_id)?),
            Some("$select=id,userPrincipalName,displayName,userType,accountEnabled&$top=999"),
        )?;
        let objects: Vec<DirectoryObject> = match self.get_all("list group members", url).await {
            Err(Error::Graph(g)) if g.status == 404 => {
                return Err(Error::GroupNotFound {
                    name: group_id.to_owned(),
                })
            }
            r => r?,
        };
        Ok(Members::from_objects(objects))
    }

    /// Which of `group_ids` the user is a member of, nested groups included
    /// (`POST /users/{id}/checkMemberGroups`, at most 20 ids a request, so asked in chunks).
    /// Needs `GroupMember.Read.All` with `User.Read.All` (delegated: `User.ReadBasic.All`), or
    /// `Directory.Read.All`.
    pub async fn member_groups_among(
        &self,
        user: &str,
        group_ids: &[String],
    ) -> Result<Vec<String>> {
        let url = self.url(
            &format!("users/{}/checkMemberGroups", path_segment("user", user)?),
            None,
        )?;
        let mut found = Vec::new();
        for chunk in group_ids.chunks(20) {
            let body = serde_json::to_vec(&serde_json::json!({ "groupIds": chunk }))
                .map_err(|e| Error::InvalidArgument(e.to_string()))?;
            let a = self
                .execute(
                    "check member groups",
                    reqwest::Method::POST,
                    url.clone(),
                    Some(body),
                    // Reads only: safe to repeat.
                    crate::retry::Idempotency::Idempotent,
                )
                .await?;
            if a.status != 200 {
                return Err(super::http::graph_error(&a));
            }
            let page: crate::wire::Page<String> =
                super::http::parse_json("check member groups", &a)?;
            found.extend(page.value);
        }
        Ok(found)
    }
}
