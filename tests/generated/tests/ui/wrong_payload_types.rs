use safething::typed::Filter;
use safething_generated_tests::gardening_device::{
    GardeningDevice, GardeningDeviceClient, OpenValveInput, Reading, ValveState,
};

async fn client_side(garden: &GardeningDeviceClient) {
    // A number attribute compared with a string.
    let _ = garden.watch_moisture_level(Filter::lt("dry")).await;
    // An enum attribute is not ordered.
    let _ = garden.watch_valve_state(Filter::gt(ValveState::Open)).await;
    // The wrong input type for an action.
    let _ = garden.open_valve(ValveState::Open).await;
    // Writing a string to a number.
    let _ = garden.write_target_level("high").await;
    // A field filter on another type's field.
    let _ = garden.watch_moisture_level(Reading::LEVEL.lt(5.0)).await;
}

async fn device_side(device: &GardeningDevice) {
    let _ = device.set_moisture_level(ValveState::Open).await;
    let _ = device.emit_very_dry_alarm(OpenValveInput { psi: 1 }).await;
}

fn main() {
    let _ = (client_side, device_side);
}
