// The Ethereum chain one node serves, on the settings its service recorded (chain-settings.ts),
// known once the node holds the service's state: at start, or after a joiner's first entries. The
// JSON-RPC methods are built then, once; until then Ethereum requests answer 503. A configuration
// that disagrees with the service is never served.

import { CocoError } from '../errors.js';
import { readServiceInfo } from '../governance/builtin-tables.js';
import type { Node } from '../node/node.js';
import { readChainSettings, resolveChainSettings, type ChainSettings, type ConfiguredChainSettings } from './chain-settings.js';
import type { JsonRpcMethods } from './json-rpc.js';

/** How often a joiner looks for the service's settings in its state while it catches up. */
const CATCH_UP_CHECK_MS = 100;

export class ServiceChain {
  #methods: JsonRpcMethods | undefined;
  #building: Promise<void> | undefined;

  constructor(
    private readonly node: Node,
    private readonly configured: ConfiguredChainSettings,
    private readonly build: (settings: ChainSettings) => Promise<JsonRpcMethods>,
    /** Told once when the service recorded no settings, so that nothing checks this node's against the others'. */
    private readonly warn: (line: string) => void = () => {},
  ) {}

  /**
   * The settings the node serves, once its state holds the service's (its genesis); undefined
   * before. Throws EthereumSettingsMismatch when its configuration disagrees with them.
   */
  settings(): ChainSettings | undefined {
    return this.#read()?.settings;
  }

  #read(): { settings: ChainSettings; recorded: boolean } | undefined {
    return this.node.execute((tx) => {
      if (readServiceInfo(tx) === undefined) return { result: undefined, applyWrites: false };
      const recorded = readChainSettings(tx);
      return { result: { settings: resolveChainSettings(this.configured, recorded), recorded: recorded !== undefined }, applyWrites: false };
    }).result;
  }

  /** Builds the methods once the settings are known; whether they are. Throws EthereumSettingsMismatch. */
  async settle(): Promise<boolean> {
    if (this.#methods !== undefined) return true;
    if (this.#building === undefined) {
      const read = this.#read();
      if (read === undefined) return false;
      const { settings } = read;
      if (!read.recorded) {
        this.warn(
          `this service recorded no Ethereum settings (it was created before Coco recorded them at genesis): this node serves its configuration's chain_id ${settings.chainId}, public_state ${settings.publicState}, block gas limit ${settings.blockGasLimit} and allow_unprotected_transactions ${settings.allowUnprotectedTransactions}, which nothing checks against the other nodes': give every node the same ethereum section (docs/ethereum.md)`,
        );
      }
      this.#building = this.build(settings).then((methods) => void (this.#methods = methods));
    }
    await this.#building;
    return true;
  }

  /**
   * Settles as soon as a joiner's state allows; `refused` is told if its configuration disagrees
   * with the service (or the methods cannot be built). Returns what stops the watch.
   */
  watch(refused: (error: Error) => void): () => void {
    let checking = false;
    const timer = setInterval(() => {
      if (checking || !this.node.serving) return;
      checking = true;
      this.settle().then(
        (settled) => {
          checking = false;
          if (settled) clearInterval(timer);
        },
        (error: unknown) => {
          clearInterval(timer);
          refused(error as Error);
        },
      );
    }, CATCH_UP_CHECK_MS);
    return () => clearInterval(timer);
  }

  /** The JSON-RPC methods; 503 until the node holds the service's settings. */
  methods(): JsonRpcMethods {
    if (this.#methods !== undefined) return this.#methods;
    throw new CocoError(
      'NodeCannotHandleRequest',
      'this node has not caught up with the service yet (its Ethereum settings come with the service\'s first transaction): retry shortly, or send the request to another node',
    );
  }
}
