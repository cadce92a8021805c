/** The MQTT side of account-link (DESIGN §5). Imports nothing from Node-RED. */
export {
  MqttPublisher,
  parseRequest,
  type ConnectionState,
  type ConnectionStatus,
  type MqttPublisherOptions,
  type MqttTlsOptions,
  type RequestReply,
} from './publisher.js';
export { INVALID_BROKER_ADDRESS, normalizeBrokerUrl, redactBrokerUrl } from './broker-url.js';
export {
  BUTTON_PAYLOAD,
  discoveryPayload,
  discoveryTopic,
  ENGLISH_DISCOVERY_NAMES,
  EVENT_TYPES,
  LINK_STATES,
  type DiscoveryNames,
  type DiscoveryOrigin,
} from './discovery.js';
export { ACTIONS, FIELD_TOPICS, haObjectId, LinkTopics, normalizeTopicRoot, type Action, type FieldTopic } from './topics.js';
