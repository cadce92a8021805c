/** mDNS (bonjour-service): finding MQTT brokers on the home network. */
export { discoverBrokers, type DiscoveredBroker, type DiscoverOptions, type MdnsOptions } from './brokers.js';
export { advertisePairingPage, type BonjourPublisher, type PairingAdvert, type PairingAdvertOptions } from './pairing-advert.js';
