use safething::SafeThing;

use safething::device::{ActionContext, WriteContext, WriteError};
use safething::wire::ActionError;

#[derive(SafeThing)]
#[safething(version = "1.0.0", action(name = "fade", input = u8))]
struct Lamp {
    #[safething(writable, maximun = 100)]
    level: u8,
}

struct Driver;

impl LampHandler for Driver {
    async fn fade(&self, _input: u8, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }
    async fn write_level(&self, _value: u8, _ctx: WriteContext) -> Result<(), WriteError> {
        Ok(())
    }
}

async fn _use(device: LampDevice, client: LampClient) {
    let _ = device.set_level(5).await;
    device.serve(Driver);
    let _ = client.level().await;
    let _ = Lamp::definition();
}

fn main() {}
