/**
 * Placeholder entry point for `npm start`; will be replaced by the real demo.
 */
console.log('irqflow');
