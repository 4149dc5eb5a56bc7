use safething::typed::Filter;
use safething_generated_tests::gardening_device::{GardeningDevice, GardeningDeviceClient, Reading};

async fn client_side(garden: &GardeningDeviceClient) {
    let _ = garden.moisture_levl().await;
    let _ = garden.on_very_dry_alrm(Filter::any()).await;
    let _ = garden.watch_moisture_level(Reading::LEVL.lt(5.0)).await;
}

async fn device_side(device: &GardeningDevice) {
    let _ = device.set_valve_stat(safething_generated_tests::gardening_device::ValveState::Open).await;
}

fn main() {
    let _ = (client_side, device_side);
}
