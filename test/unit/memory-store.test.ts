import { MemoryHostStore } from '../../src/host/store/memory-store';
import { describeHostStore } from '../helpers/store-conformance';

// The memory store keeps the durable stores' contract, except surviving its object.
describeHostStore('MemoryHostStore', async () => new MemoryHostStore());
