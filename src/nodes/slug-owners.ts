/**
 * Link slugs in use in this runtime, by the config node using each: two accounts with one slug
 * would publish to the same MQTT topics and pairing codes would name the wrong account.
 */
const owners = new Map<string, string>();

/** Takes `slug` for `nodeId`; false when another node holds it. */
export function claimSlug(slug: string, nodeId: string): boolean {
  const owner = owners.get(slug);
  if (owner && owner !== nodeId) return false;
  owners.set(slug, nodeId);
  return true;
}

export function releaseSlug(slug: string, nodeId: string): void {
  if (owners.get(slug) === nodeId) owners.delete(slug);
}
