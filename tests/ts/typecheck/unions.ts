// Type-level tests of tagged unions and constants (codegen/tests/fixtures/unions.toml): a
// tagged union narrows on its tag, a constant is its literal type. Lines marked with an
// expected error must fail to type-check. Nothing here runs.
import * as rt from "./safething/index.js";
import {
  type CalibrateOutput,
  type Calibration,
  Co2SensorClient,
  type Frame,
  type Header,
  type Protocol,
} from "./co2_sensor.js";

/** What a calibration needs, found by narrowing on `mode`. */
export function describe(c: Calibration): string {
  switch (c.mode) {
    case "auto":
      // @ts-expect-error only the manual alternative has a reference
      return String(c.reference_ppm);
    case "manual":
      return `${c.reference_ppm} ppm${c.note === undefined ? "" : ` (${c.note})`}`;
    case "two-point":
      return c.points.map((p) => p.ppm).join(", ");
    default: {
      // Exhaustive: no alternative is left.
      const never: never = c;
      return never;
    }
  }
}

/** Integer tags narrow too. */
export function body(f: Frame): string {
  return f.kind === 2 ? f.body : "";
}

export async function unions(client: rt.Client): Promise<void> {
  const sensor = await Co2SensorClient.connect(client, "co2-sensor-1");
  const done: CalibrateOutput = await (
    await sensor.calibrate({ mode: "manual", reference_ppm: 420 })
  ).output();
  if (done.status === "done") {
    const drift: number | undefined = done.drift_ppm;
    void drift;
  } else {
    const reason: string = done.reason;
    void reason;
  }
  await sensor.calibrate({ mode: "auto" });
  // @ts-expect-error an unknown tag
  await sensor.calibrate({ mode: "magic" });
  // @ts-expect-error the manual alternative needs its reference
  await sensor.calibrate({ mode: "manual" });

  const header: Header = { version: "v1", revision: 3, beta: true, gain: 1.5 };
  // @ts-expect-error a constant admits its value only
  const wrong: Header = { version: "v2", revision: 3, beta: true, gain: 1.5 };
  const protocol: Protocol = (await sensor.protocol()).value;
  const literal: "co2/1" = protocol;
  void [header, wrong, literal];
}
