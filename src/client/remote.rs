//! A handle to one remote thing.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use safething_ir::value::CompiledSchema;
use safething_ir::{Access, PayloadSchemas, ThingId};

use crate::access::Parties;
use crate::envelope::Opened;
use crate::error::{AffordanceKind, Error, Result};
use crate::filter::Filter;
use crate::identity::PublicKey;
use crate::keys;
use crate::transport::Reply;
use crate::wire::{AdminRequest, AttributeRequest, Description, HistoryEntry, Outcome, ReadReply};

use super::streams::{EventStream, Watch};
use super::{ClientInner, millis};

/// The current value of an attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct AttributeReading {
    /// The value.
    pub value: Value,
    /// Its sequence number.
    pub seq: u64,
    /// When the device set it, Unix milliseconds.
    pub ts: u64,
}

/// A thing on the network, as a client uses it. Cheap to clone.
#[derive(Clone)]
pub struct RemoteThing {
    pub(crate) client: Arc<ClientInner>,
    pub(crate) description: Arc<Description>,
    pub(crate) schemas: Arc<PayloadSchemas>,
}

impl std::fmt::Debug for RemoteThing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteThing")
            .field("id", &self.description.id)
            .finish_non_exhaustive()
    }
}

impl RemoteThing {
    pub(crate) fn new(client: Arc<ClientInner>, description: Description) -> Result<RemoteThing> {
        let schemas = Arc::new(description.definition.payload_schemas());
        Ok(RemoteThing {
            client,
            description: Arc::new(description),
            schemas,
        })
    }

    /// The thing's id.
    pub fn id(&self) -> &ThingId {
        &self.description.id
    }

    /// Its description, as fetched.
    pub fn description(&self) -> &Description {
        &self.description
    }

    /// Its public key.
    pub fn key(&self) -> &PublicKey {
        &self.description.thing_key
    }

    /// Whether it is online now.
    pub fn is_online(&self) -> bool {
        self.client.presence.is_online(self.id().as_str())
    }

    /// Fetches the description again (lifecycle, owner and group may have changed).
    pub async fn refresh(&self) -> Result<RemoteThing> {
        let description = self.client.describe(self.id()).await?;
        RemoteThing::new(self.client.clone(), description)
    }

    pub(crate) fn unknown(&self, kind: AffordanceKind, name: &str) -> Error {
        Error::UnknownAffordance {
            thing: self.id().to_string(),
            kind,
            name: name.to_owned(),
        }
    }

    fn parties(&self) -> Parties {
        Parties {
            thing: Some(self.description.thing_key),
            owner: self.description.owner,
            group: self.description.group.clone(),
        }
    }

    /// Refuses locally what the device would refuse for lack of access, before sending.
    /// The description may be stale, so a refusal is confirmed against a fresh one.
    pub(crate) async fn precheck(&self, access: &Access) -> Result<()> {
        let me = *self.client.sealer.identity().public_key();
        if self.parties().check(access, &me).is_ok() {
            return Ok(());
        }
        let fresh = self.refresh().await?;
        fresh
            .parties()
            .check(access, &me)
            .map_err(|p| Error::from_problem(self.id().as_str(), p))
    }

    /// Sends a signed request on `key` and returns the first verified answer of the thing.
    pub(crate) async fn request<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        key: &str,
        body: &Req,
        timeout: Duration,
    ) -> Result<Resp> {
        let bytes = self
            .client
            .sealer
            .seal(key, body)
            .map_err(|e| Error::Protocol(e.to_string()))?;
        let mut replies = self
            .client
            .transport
            .query(key, Some(bytes), timeout)
            .await?;
        let mut last_error = None;
        while let Some(reply) = replies.recv().await {
            match reply {
                Reply::Ok(sample) => match self.open::<Outcome<Resp>>(&sample.key, &sample.payload)
                {
                    Ok(opened) => {
                        return Result::from(opened.body)
                            .map_err(|p| Error::from_problem(self.id().as_str(), p));
                    }
                    Err(e) => last_error = Some(e),
                },
                Reply::Err(_) => {
                    last_error = Some(Error::Protocol(
                        "the transport returned an error reply".into(),
                    ))
                }
            }
        }
        Err(last_error.unwrap_or_else(|| self.silence(timeout)))
    }

    /// What no answer means: the thing is offline, or too slow.
    pub(crate) fn silence(&self, timeout: Duration) -> Error {
        if self.is_online() {
            Error::TimedOut {
                timeout_ms: millis(timeout),
            }
        } else {
            Error::Offline(self.id().to_string())
        }
    }

    /// Opens a message that must come from this thing.
    pub(crate) fn open<T: DeserializeOwned>(&self, key: &str, payload: &[u8]) -> Result<Opened<T>> {
        let opened = self
            .client
            .verifier
            .open::<T>(key, payload)
            .map_err(Error::Untrusted)?;
        if opened.signed && opened.from != self.description.thing_key {
            return Err(Error::Untrusted(
                crate::envelope::EnvelopeError::WrongSender {
                    expected: self.description.thing_key.to_string(),
                    found: opened.from.to_string(),
                },
            ));
        }
        Ok(opened)
    }

    pub(crate) fn attribute_schema(
        &self,
        name: &str,
    ) -> Result<(&safething_ir::Attribute, &CompiledSchema)> {
        match (
            self.description.definition.attributes.get(name),
            self.schemas.attributes.get(name),
        ) {
            (Some(a), Some(s)) => Ok((a, s)),
            _ => Err(self.unknown(AffordanceKind::Attribute, name)),
        }
    }

    pub(crate) fn check_value(
        &self,
        schema: &CompiledSchema,
        value: &Value,
        what: impl FnOnce() -> String,
    ) -> Result<()> {
        schema.check(value).map_err(|source| Error::InvalidPayload {
            what: what(),
            source,
        })
    }

    pub(crate) async fn read_raw(&self, name: &str, history: Option<u64>) -> Result<ReadReply> {
        let (attribute, schema) = self.attribute_schema(name)?;
        self.precheck(&attribute.access).await?;
        let key = keys::attribute(self.id(), name);
        let reply: ReadReply = self
            .request(
                &key,
                &AttributeRequest::Read { history },
                self.client.config.request_timeout,
            )
            .await?;
        if let Some(value) = &reply.value {
            self.check_value(schema, value, || format!("value of attribute `{name}`"))?;
        }
        for entry in reply.history.iter().flatten() {
            self.check_value(schema, &entry.value, || {
                format!("history of attribute `{name}`")
            })?;
        }
        Ok(reply)
    }

    /// The current value of an attribute.
    pub async fn read(&self, name: &str) -> Result<AttributeReading> {
        let reply = self.read_raw(name, None).await?;
        match reply.value {
            Some(value) => Ok(AttributeReading {
                value,
                seq: reply.seq,
                ts: reply.ts,
            }),
            None => Err(Error::NoValue(name.to_owned())),
        }
    }

    /// The remembered values of an attribute that keeps a history, oldest first.
    pub async fn history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let (attribute, _) = self.attribute_schema(name)?;
        let Some(depth) = attribute.history else {
            return Err(Error::Rejected(crate::wire::Problem::BadRequest {
                message: format!("attribute `{name}` keeps no history"),
            }));
        };
        Ok(self
            .read_raw(name, Some(depth))
            .await?
            .history
            .unwrap_or_default())
    }

    /// Writes a writable attribute; the device's handler accepts or rejects it. Returns the
    /// value as the device now holds it.
    pub async fn write(&self, name: &str, value: Value) -> Result<AttributeReading> {
        let (attribute, schema) = self.attribute_schema(name)?;
        if !attribute.writable {
            return Err(Error::Rejected(crate::wire::Problem::NotWritable {
                name: name.to_owned(),
            }));
        }
        self.check_value(schema, &value, || format!("value of attribute `{name}`"))?;
        self.precheck(&attribute.access).await?;
        let key = keys::attribute(self.id(), name);
        let reply: ReadReply = self
            .request(
                &key,
                &AttributeRequest::Write { value },
                self.client.config.request_timeout,
            )
            .await?;
        match reply.value {
            Some(value) => Ok(AttributeReading {
                value,
                seq: reply.seq,
                ts: reply.ts,
            }),
            None => Err(Error::NoValue(name.to_owned())),
        }
    }

    /// Follows an attribute: the stream starts with the current value (when it passes the
    /// filter) and yields every change that passes it.
    pub async fn watch(&self, name: &str, filter: Filter) -> Result<Watch> {
        Watch::start(self, name, filter).await
    }

    /// Receives an event's notifications that pass the filter.
    pub async fn subscribe(&self, name: &str, filter: Filter) -> Result<EventStream> {
        EventStream::start(self, name, filter).await
    }

    async fn admin(&self, op: AdminRequest) -> Result<Description> {
        let key = keys::admin(self.id());
        self.request(&key, &op, self.client.config.request_timeout)
            .await
    }

    /// Makes the thing operative (owner only).
    pub async fn publish(&self) -> Result<Description> {
        self.admin(AdminRequest::Publish).await
    }

    /// Takes the thing out of service (owner only).
    pub async fn disable(&self) -> Result<Description> {
        self.admin(AdminRequest::Disable).await
    }

    /// Adds a group member (owner only).
    pub async fn grant(&self, member: PublicKey) -> Result<Description> {
        self.admin(AdminRequest::Grant { member }).await
    }

    /// Removes a group member (owner only).
    pub async fn revoke(&self, member: PublicKey) -> Result<Description> {
        self.admin(AdminRequest::Revoke { member }).await
    }

    /// Hands the thing to a new owner (owner only).
    pub async fn transfer(&self, owner: PublicKey) -> Result<Description> {
        self.admin(AdminRequest::Transfer { owner }).await
    }

    /// Claims an unclaimed thing with its one-time token.
    pub async fn claim(&self, token: &str) -> Result<Description> {
        self.admin(AdminRequest::Claim {
            token: token.to_owned(),
        })
        .await
    }
}
