/** mDNS (bonjour-service): finding MQTT brokers on the home network. */
export { discoverBrokers, type DiscoveredBroker, type DiscoverOptions } from './brokers.js';
export type { MdnsOptions } from './guarded-bonjour.js';
export { advertisePairingPage, type BonjourPublisher, type PairingAdvert, type PairingAdvertOptions } from './pairing-advert.js';
