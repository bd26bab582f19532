// What route files import to bound their input: strict query numbers, text limits, and the body
// the access guard checked (a CSRF-checked form or JSON).
export { InputError, queryInt, TEXT_LIMITS, textField } from './limits.js';
export { readBody as readBodyLimited } from './middleware.js';
