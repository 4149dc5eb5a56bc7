//! Access types: who may use an affordance. One function decides, used by the device before any
//! handler runs and by clients before anything is sent.

use safething_ir::Access;

use crate::identity::PublicKey;
use crate::wire::Problem;

/// Who may act on a thing: its own key, its owner, its group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parties {
    /// The thing's key.
    pub thing: Option<PublicKey>,
    /// The owner, once claimed or provisioned.
    pub owner: Option<PublicKey>,
    /// Group members.
    pub group: Vec<PublicKey>,
}

impl Parties {
    /// Whether `who` is the owner.
    pub fn is_owner(&self, who: &PublicKey) -> bool {
        self.owner.as_ref() == Some(who)
    }

    /// Whether `who` is a group member (the owner counts as one).
    pub fn is_member(&self, who: &PublicKey) -> bool {
        self.is_owner(who) || self.group.contains(who)
    }

    /// Whether `who` is the thing itself.
    pub fn is_thing(&self, who: &PublicKey) -> bool {
        self.thing.as_ref() == Some(who)
    }

    /// Decides whether `who` may use an affordance with access type `access`.
    pub fn check(&self, access: &Access, who: &PublicKey) -> Result<(), Problem> {
        let deny = |reason: String| Problem::AccessDenied {
            rule: access.as_str().to_owned(),
            reason,
        };
        match access {
            Access::All => Ok(()),
            _ if self.is_thing(who) => Ok(()),
            Access::Group if self.is_member(who) => Ok(()),
            Access::Group => Err(deny(format!(
                "{} is neither the owner nor a group member",
                who.short()
            ))),
            Access::Owner if self.is_owner(who) => Ok(()),
            Access::Owner if self.owner.is_none() => {
                Err(deny("the thing has no owner yet; claim it first".into()))
            }
            Access::Owner => Err(deny(format!("{} is not the owner", who.short()))),
            Access::Thing => Err(deny("only the thing itself may use this".into())),
        }
    }

    /// Decides whether `who` may perform owner operations.
    pub fn check_owner(&self, who: &PublicKey) -> Result<(), Problem> {
        self.check(&Access::Owner, who).map_err(|p| match p {
            Problem::AccessDenied { reason, .. } => Problem::AccessDenied {
                rule: "admin".into(),
                reason,
            },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    #[test]
    fn matrix() {
        let [thing, owner, member, stranger] =
            std::array::from_fn(|_| *Identity::generate().unwrap().public_key());
        let p = Parties {
            thing: Some(thing),
            owner: Some(owner),
            group: vec![member],
        };
        let cases = [
            (Access::All, [true, true, true, true]),
            (Access::Group, [true, true, true, false]),
            (Access::Owner, [true, true, false, false]),
            (Access::Thing, [true, false, false, false]),
        ];
        for (access, expected) in cases {
            for (who, ok) in [thing, owner, member, stranger].iter().zip(expected) {
                assert_eq!(p.check(&access, who).is_ok(), ok, "{access} for {who:?}");
            }
        }
        let unclaimed = Parties {
            thing: Some(thing),
            ..Parties::default()
        };
        assert!(unclaimed.check(&Access::Owner, &owner).is_err());
    }
}
