// Type-level tests of generated clients: compiled (tsc --strict --noEmit) next to the code
// generated for examples/things/ by codegen/tests/typescript.rs. Lines marked @ts-expect-error
// must fail to type-check (a misspelled method, a wrong payload or filter type); the rest must
// pass. Nothing here runs.
import * as rt from "./safething/index.js";
import { GardeningDeviceClient, type Reading, type ValveState } from "./gardening_device.js";
import { DoorLockClient, type State } from "./door_lock.js";
import { SwitchboardClient, type StateOutput } from "./switchboard.js";

export async function usage(client: rt.Client): Promise<void> {
  const garden = await GardeningDeviceClient.connect(client, "garden-01");
  const level: number = (await garden.moistureLevel()).value;
  const history: rt.HistoryEntry<number>[] = await garden.moistureLevelHistory();
  const valve: ValveState = (await garden.valveState()).value;
  const firmware: string = (await garden.firmware()).value;

  for await (const update of await garden.watchMoistureLevel((f) => f.lt(5).and(f.minInterval(1000)))) {
    const v: number = update.value;
    void v;
  }
  await garden.watchValveState((f) => f.eq("open"));
  await garden.watchMoistureLevel(rt.filter<number>().step(2));
  for await (const alarm of await garden.onVeryDryAlarm((f) => f.field("level").lt(5))) {
    const r: Reading = alarm.data;
    void r;
  }

  await garden.writeTargetLevel(40);
  const handle = await garden.openValve({ psi: 60 }, { timeoutMs: 5000 });
  const output: ValveState = await handle.output();
  for await (const state of handle.states()) {
    if (state.state === "done") {
      const o: ValveState = state.output;
      void o;
    }
  }
  await handle.cancel();
  const closed: null = await (await garden.closeValve()).output();
  void [level, history, valve, firmware, output, closed];

  try {
    await garden.openValve({ psi: 60 });
  } catch (e) {
    if (rt.isSafethingError(e)) {
      switch (e.kind) {
        case "access_denied":
          void e.rule;
          break;
        case "invalid_payload":
          void [e.path, e.keyword];
          break;
        case "action_failed":
          void e.error.code;
          break;
        default:
      }
    }
  }

  // The framework's side of a client is its untyped handle, `thingOf(client)`.
  const thing: rt.RemoteThing = rt.thingOf(garden);
  const id: string = thing.id;
  const owner: string | undefined = thing.description.owner;
  const online: boolean = thing.isOnline();
  void [id, owner, online];

  // @ts-expect-error: no such method
  await garden.moistureLevl();
  // @ts-expect-error: the id is the framework's: `thingOf(garden).id`
  void garden.id;
  // @ts-expect-error: psi is a number
  await garden.openValve({ psi: "60" });
  // @ts-expect-error: unknown property
  await garden.openValve({ psi: 1, pressure: 2 });
  // @ts-expect-error: close_valve takes no input
  await garden.closeValve({ psi: 1 });
  // @ts-expect-error: a string cannot be written to a number attribute
  await garden.writeTargetLevel("40");
  // @ts-expect-error: valve_state is not writable
  await garden.writeValveState("open");
  // @ts-expect-error: not one of the enum values
  await garden.watchValveState((f) => f.eq("ajar"));
  // @ts-expect-error: a number is compared with numbers
  await garden.watchMoistureLevel((f) => f.lt("5"));
  // @ts-expect-error: Reading has no field `pressure`
  await garden.onVeryDryAlarm((f) => f.field("pressure").lt(5));
  // @ts-expect-error: step needs a number
  await garden.watchValveState((f) => f.step(1));
  // @ts-expect-error: firmware is static: it cannot be watched
  await garden.watchFirmware();
}

// No name is reserved: attributes, events and actions called `state`, `id`, `description`,
// `connect`, `isOnline`, `inner`, ... are the thing's, and the framework keeps static members
// and `thingOf(client)`.
export async function anyName(client: rt.Client): Promise<void> {
  const lock = await DoorLockClient.connect(client, "lock-0001");
  const state: State = (await lock.state()).value;
  const serial: string = (await lock.id()).value;
  const text: string = (await lock.description()).value;
  const flag: boolean = (await lock.isOnline()).value;
  const definition: number = (await lock.definition()).value;
  const inner: rt.HistoryEntry<number>[] = await lock.innerHistory();
  await lock.writeState("unlocked");
  await lock.onConnect();
  await lock.onState((f) => f.eq("jammed"));
  const seven: number = await (await lock.clone()).output();
  await lock.super(3);
  const thingId: string = rt.thingOf(lock).id;
  const schema: rt.Definition = DoorLockClient.definition();
  void [state, serial, text, flag, definition, inner, seven, thingId, schema];

  const board = await SwitchboardClient.connect(client, "board-0001");
  const connected: boolean = await (await board.connect("line-1")).output();
  const made: string = await (await board.new()).output();
  const busy: StateOutput = await (await board.state()).output();
  const online: boolean = await (await board.isOnline()).output();
  await board.shutdown();
  const wrapped: SwitchboardClient = SwitchboardClient.wrap(rt.thingOf(board));
  void [connected, made, busy, online, wrapped];

  // @ts-expect-error: `state` is an attribute: it cannot be written with a wrong value
  await lock.writeState("ajar");
  // @ts-expect-error: the action `connect` takes a string
  await board.connect(1);
}
