export * from './codec.js'
export * from './reason-codes.js'
export * from './versions.js'
export * from './fit.js'
