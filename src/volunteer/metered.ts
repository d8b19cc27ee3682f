/**
 * Whether the browser says this connection should be spared (issue 18: never serve peers from
 * a metered or battery-saving connection): the Network Information API's data saver
 * (`saveData`, which Chrome also sets in its battery and data saver modes), a `metered` flag
 * where a browser has one, or a cellular link. Where the API is missing it says nothing, and
 * the visitor's upload share alone decides. Read when asked, never at import.
 */
interface NetworkInformationLike {
  readonly saveData?: boolean;
  readonly metered?: boolean;
  readonly type?: string;
}

export function connectionSaysSpare(nav: object | undefined = globalThis.navigator): boolean {
  const c = (nav as { readonly connection?: NetworkInformationLike } | undefined)?.connection;
  return c?.saveData === true || c?.metered === true || c?.type === 'cellular';
}
