/** One declared resource as the policy rules read it: the shape shared by the rules, the alert facts and the plans. */
export interface PolicyResource {
  readonly type: string;
  readonly name: string;
  /** Declared inputs with secrets already unwrapped to plain values (the policy engine does the same). */
  readonly props: Record<string, unknown>;
  readonly protect: boolean;
}
