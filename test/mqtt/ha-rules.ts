/**
 * Home Assistant's rules for MQTT device discovery (HA 2024.11+), as far as our payloads use them:
 * the topic and id charset, the abbreviations HA expands, and what each platform requires.
 * Returns a list of problems; empty means HA would accept the message.
 */

/** Abbreviation -> full key, for the component/root scope (the subset of HA's table we may meet). */
export const COMPONENT_ABBREVIATIONS: Record<string, string> = {
  avty: 'availability',
  avty_mode: 'availability_mode',
  avty_t: 'availability_topic',
  avty_tpl: 'availability_template',
  cmd_t: 'command_topic',
  cmd_tpl: 'command_template',
  cmps: 'components',
  cont_type: 'content_type',
  def_ent_id: 'default_entity_id',
  dev: 'device',
  dev_cla: 'device_class',
  e: 'encoding',
  en: 'enabled_by_default',
  ent_cat: 'entity_category',
  ent_pic: 'entity_picture',
  evt_typ: 'event_types',
  exp_aft: 'expire_after',
  ic: 'icon',
  img_e: 'image_encoding',
  img_t: 'image_topic',
  json_attr_t: 'json_attributes_topic',
  json_attr_tpl: 'json_attributes_template',
  name: 'name',
  o: 'origin',
  obj_id: 'object_id',
  ops: 'options',
  p: 'platform',
  pl_avail: 'payload_available',
  pl_not_avail: 'payload_not_available',
  pl_off: 'payload_off',
  pl_on: 'payload_on',
  pl_prs: 'payload_press',
  qos: 'qos',
  ret: 'retain',
  stat_cla: 'state_class',
  stat_t: 'state_topic',
  t: 'topic',
  uniq_id: 'unique_id',
  unit_of_meas: 'unit_of_measurement',
  url_t: 'url_topic',
  url_tpl: 'url_template',
  val_tpl: 'value_template',
};

export const DEVICE_ABBREVIATIONS: Record<string, string> = {
  cns: 'connections',
  cu: 'configuration_url',
  hw: 'hw_version',
  ids: 'identifiers',
  mdl: 'model',
  mdl_id: 'model_id',
  mf: 'manufacturer',
  name: 'name',
  sa: 'suggested_area',
  sn: 'serial_number',
  sw: 'sw_version',
};

export const ORIGIN_ABBREVIATIONS: Record<string, string> = { name: 'name', sw: 'sw_version', url: 'support_url' };

/** Keys HA reads at the root of a device-discovery message besides components. */
const ROOT_KEYS = new Set(['device', 'origin', 'components', 'availability', 'availability_topic', 'availability_mode', 'qos', 'state_topic', 'command_topic', 'encoding', '~']);

/** Full keys each platform we use accepts (plus the shared entity keys). */
const SHARED_ENTITY_KEYS = [
  'platform', 'name', 'unique_id', 'icon', 'entity_category', 'enabled_by_default', 'availability', 'availability_topic',
  'availability_mode', 'json_attributes_topic', 'json_attributes_template', 'qos', 'encoding', 'object_id', 'default_entity_id',
  'entity_picture',
];
const PLATFORM_KEYS: Record<string, string[]> = {
  sensor: ['state_topic', 'value_template', 'device_class', 'options', 'state_class', 'unit_of_measurement', 'expire_after'],
  binary_sensor: ['state_topic', 'value_template', 'device_class', 'payload_on', 'payload_off', 'expire_after'],
  button: ['command_topic', 'command_template', 'payload_press', 'device_class', 'retain'],
  image: ['image_topic', 'image_encoding', 'content_type', 'url_topic', 'url_template'],
  event: ['state_topic', 'value_template', 'event_types', 'device_class'],
};
const SENSOR_DEVICE_CLASSES = new Set(['enum', 'timestamp', 'date', 'duration']);
const ENTITY_CATEGORIES = new Set(['config', 'diagnostic']);
const ID = /^[a-zA-Z0-9_-]+$/;

function expand(object: Record<string, unknown>, table: Record<string, string>, where: string, problems: string[]): Record<string, unknown> {
  const full = new Set(Object.values(table));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    const name = table[key] ?? (full.has(key) ? key : undefined);
    if (!name) {
      problems.push(`${where}: unknown key "${key}"`);
      continue;
    }
    if (name in out) problems.push(`${where}: "${key}" given twice (abbreviated and in full)`);
    out[name] = value;
  }
  return out;
}

function isTopic(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && !/[+#]/.test(value);
}

/** Problems HA would have with `payload` on `topic`, with `<prefix>` the discovery prefix. */
export function deviceDiscoveryProblems(prefix: string, topic: string, payload: unknown): string[] {
  const problems: string[] = [];
  const match = topic.match(new RegExp(`^${prefix}/device/([^/]+)/config$`));
  if (!match) problems.push(`topic ${topic} is not <prefix>/device/<object_id>/config`);
  else if (!ID.test(match[1]!)) problems.push(`object id "${match[1]}" is outside [a-zA-Z0-9_-]`);
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return [...problems, 'payload is not a JSON object'];

  const root = expand(payload as Record<string, unknown>, COMPONENT_ABBREVIATIONS, 'root', problems);
  for (const key of Object.keys(root)) if (!ROOT_KEYS.has(key)) problems.push(`root: "${key}" is not a shared device-discovery option`);

  const device = root.device as Record<string, unknown> | undefined;
  if (!device || typeof device !== 'object') problems.push('device (dev) is required');
  else {
    const dev = expand(device, DEVICE_ABBREVIATIONS, 'device', problems);
    const ids = dev.identifiers;
    if (!(typeof ids === 'string' || (Array.isArray(ids) && ids.length > 0 && ids.every((id) => typeof id === 'string')))) {
      problems.push('device needs identifiers (ids)');
    }
    if (typeof dev.name !== 'string' || !dev.name) problems.push('device needs a name');
  }

  const origin = root.origin as Record<string, unknown> | undefined;
  if (!origin || typeof origin !== 'object') problems.push('origin (o) is required for device discovery');
  else {
    const o = expand(origin, ORIGIN_ABBREVIATIONS, 'origin', problems);
    if (typeof o.name !== 'string' || !o.name) problems.push('origin needs a name');
  }

  if (root.qos !== undefined && ![0, 1, 2].includes(root.qos as number)) problems.push('qos must be 0, 1 or 2');
  const availability = root.availability as unknown;
  if (availability !== undefined) {
    if (!Array.isArray(availability) || availability.length === 0) problems.push('availability must be a non-empty list');
    else {
      availability.forEach((entry, i) => {
        const item = expand(entry as Record<string, unknown>, COMPONENT_ABBREVIATIONS, `availability[${i}]`, problems);
        if (!isTopic(item.topic)) problems.push(`availability[${i}] needs a topic without wildcards`);
      });
    }
  }

  const components = root.components as Record<string, unknown> | undefined;
  if (!components || typeof components !== 'object' || Object.keys(components).length === 0) {
    problems.push('components (cmps) must hold at least one component');
    return problems;
  }
  const uniqueIds = new Set<string>();
  for (const [id, raw] of Object.entries(components)) {
    const where = `cmps.${id}`;
    if (!ID.test(id)) problems.push(`${where}: component id outside [a-zA-Z0-9_-]`);
    const component = expand(raw as Record<string, unknown>, COMPONENT_ABBREVIATIONS, where, problems);
    const platform = component.platform as string;
    const allowed = PLATFORM_KEYS[platform];
    if (!allowed) {
      problems.push(`${where}: platform (p) "${platform}" is missing or not one we expect`);
      continue;
    }
    // The platform alone removes a component an earlier config of the device created.
    if (Object.keys(component).length === 1) continue;
    for (const key of Object.keys(component)) {
      if (!allowed.includes(key) && !SHARED_ENTITY_KEYS.includes(key)) problems.push(`${where}: ${platform} has no option "${key}"`);
    }
    const uid = component.unique_id;
    if (typeof uid !== 'string' || !ID.test(uid)) problems.push(`${where}: unique_id is required, within [a-zA-Z0-9_-]`);
    else if (uniqueIds.has(uid)) problems.push(`${where}: unique_id ${uid} used twice`);
    else uniqueIds.add(uid);
    if (component.entity_category !== undefined && !ENTITY_CATEGORIES.has(component.entity_category as string)) {
      problems.push(`${where}: entity_category must be config or diagnostic`);
    }
    switch (platform) {
      case 'sensor':
        if (!isTopic(component.state_topic)) problems.push(`${where}: sensor needs state_topic`);
        if (component.device_class !== undefined && !SENSOR_DEVICE_CLASSES.has(component.device_class as string)) {
          problems.push(`${where}: unexpected device_class ${String(component.device_class)}`);
        }
        if (component.device_class === 'enum' && !(Array.isArray(component.options) && component.options.length > 0)) {
          problems.push(`${where}: an enum sensor needs options`);
        }
        if (component.options !== undefined && component.device_class !== 'enum') problems.push(`${where}: options only with device_class enum`);
        break;
      case 'binary_sensor':
        if (!isTopic(component.state_topic)) problems.push(`${where}: binary_sensor needs state_topic`);
        break;
      case 'button':
        if (!isTopic(component.command_topic)) problems.push(`${where}: button needs command_topic`);
        break;
      case 'image':
        if (isTopic(component.image_topic) === isTopic(component.url_topic)) problems.push(`${where}: image needs exactly one of image_topic and url_topic`);
        if (component.content_type !== undefined && !/^image\//.test(String(component.content_type))) problems.push(`${where}: content_type must be image/*`);
        break;
      case 'event':
        if (!isTopic(component.state_topic)) problems.push(`${where}: event needs state_topic`);
        if (!(Array.isArray(component.event_types) && component.event_types.length > 0)) problems.push(`${where}: event needs event_types`);
        break;
    }
  }
  return problems;
}

/** Expands a whole payload into HA's full key names (for asserting on what HA will read). */
export function expandDiscovery(payload: Record<string, unknown>): {
  root: Record<string, unknown>;
  components: Record<string, Record<string, unknown>>;
} {
  const ignore: string[] = [];
  const root = expand(payload, COMPONENT_ABBREVIATIONS, 'root', ignore);
  const components = Object.fromEntries(
    Object.entries(root.components as Record<string, Record<string, unknown>>).map(([id, component]) => [
      id,
      expand(component, COMPONENT_ABBREVIATIONS, id, ignore),
    ]),
  );
  return { root, components };
}
