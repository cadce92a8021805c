/** The MQTT side of account-link. Imports nothing from Node-RED. */
export {
  MAX_INCOMING_PACKET_BYTES,
  MqttPublisher,
  type ConnectionState,
  type ConnectionStatus,
  type MqttPublisherEvents,
  type MqttPublisherOptions,
  type MqttTlsOptions,
} from './publisher.js';
export { parseRequest, toMqttCommands, type MqttCommands, type RequestReply } from './extensions/requests.js';
export { INVALID_BROKER_ADDRESS, maskCredentials, normalizeBrokerUrl, redactBrokerUrl } from './broker-url.js';
export {
  BUTTON_PAYLOAD,
  discoveryPayload,
  discoveryTopic,
  ENGLISH_DISCOVERY_NAMES,
  hubDiscoveryPayload,
  hubDiscoveryTopic,
  LINK_STATES,
  type DiscoveryNames,
  type DiscoveryOrigin,
} from './discovery.js';
export { FIELD_TOPICS, haObjectId, isAllowedResponseTopic, LinkTopics, linksTopic, normalizeTopicRoot, topicMatches, type FieldTopic } from './topics.js';
