// The clock moved to src/clock.ts (it sits below every folder); this re-export keeps branches written
// before the move compiling. New code imports '../clock.js'.
export { systemClock, fixedClock, type Clock } from '../clock.js';
