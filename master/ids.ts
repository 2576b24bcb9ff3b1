/**
 * Id minting for everything the master names, all prefixed with the master id like Mesos:
 * frameworks `<masterId>-0000`, agents `<masterId>-S0`, offers `<masterId>-O0`.
 *
 * @module
 */
export class IdGenerator {
  private nextFramework = 0;
  private nextAgent = 0;
  private nextOffer = 0;

  constructor(readonly masterId: string) {}

  frameworkId(): string {
    return `${this.masterId}-${String(this.nextFramework++).padStart(4, '0')}`;
  }
  agentId(): string {
    return `${this.masterId}-S${this.nextAgent++}`;
  }
  offerId(): string {
    return `${this.masterId}-O${this.nextOffer++}`;
  }
}
