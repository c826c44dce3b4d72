// Package kafkaauth turns the TLS and SASL settings that driftcar's Kafka
// clients share (the prediction log's producer, the label consumer) into
// franz-go options.
//
// Concurrency: the settings are plain values; the functions keep no
// state and are safe to call from any goroutine.
package kafkaauth
