#!/usr/bin/env node
// The seed's e-commerce CDC worker, as a pgcdc handler in Node (no packages).
//
// pgcdc starts it and speaks handler protocol 1 with it (docs/HANDLERS.md): one
// JSON event per line on its standard input; on its standard output, once what
// it read is handled, the count of lines handled so far. pgcdc confirms nothing
// past that count, and gives again to a new process what a dead one had not
// counted.
//
//   pgcdc -d "host=localhost dbname=ecommerce user=cdc_user" \
//         -S ecommerce_cdc_slot -P ecommerce_publication \
//         -t orders -t order_items -t inventory \
//         --exec "node examples/node/ecommerce.js"
//
// Its prints go to standard error, which is pgcdc's: standard output belongs to
// the protocol. (Numbers are JavaScript doubles here: 24.50 arrives as 24.5.
// A handler that needs exact decimals parses them as text, or asks for
// -X debezium.decimal.handling.mode=string with -F debezium.)
'use strict';

const fs = require('fs');

if (process.env.PGCDC_HANDLER_PROTOCOL !== '1') {
  console.error('ecommerce.js: run me with pgcdc --exec (handler protocol 1)');
  process.exit(2);
}

// Every print to stderr; standard output carries the counts alone.
const print = (...args) => console.error(...args);
const log = {
  info: (msg) => console.error(`INFO: ${msg}`),
  warning: (msg) => console.error(`WARNING: ${msg}`),
  debug: () => {},
};
console.log = print;

const statusHandlers = {
  paid: (o) => log.info(`Payment received for order ${o.id}`),
  shipped: (o) => log.info(`Order ${o.id} shipped`),
  delivered: (o) => log.info(`Order ${o.id} delivered`),
  cancelled: (o) => log.info(`Order ${o.id} cancelled`),
};

function orderChange(op, oldRow, newRow) {
  if (op === 'INSERT') {
    log.info(`New order created: ${newRow.id}`);
    log.info(`Sending confirmation email to ${newRow.customer_email}`);
    log.info(`Reserving inventory for order ${newRow.id}`);
    return {
      action: 'new_order_processed',
      order_id: newRow.id,
      customer_email: newRow.customer_email,
      total_amount: newRow.total_amount,
    };
  }
  if (op === 'UPDATE') {
    const oldStatus = oldRow.status;
    const newStatus = newRow.status;
    if (oldStatus !== newStatus) {
      log.info(`Order ${newRow.id} status: ${oldStatus} → ${newStatus}`);
      if (statusHandlers[newStatus]) statusHandlers[newStatus](newRow);
    }
    return { action: 'status_change', order_id: newRow.id, old_status: oldStatus, new_status: newStatus };
  }
  if (op === 'DELETE') {
    log.info(`Order deleted: ${oldRow.id}`);
    log.info(`Releasing inventory for order ${oldRow.id}`);
    return { action: 'order_deleted', order_id: oldRow.id };
  }
  return null;
}

function orderItemChange(op, oldRow, newRow) {
  if (op !== 'INSERT') return null;
  log.debug(`Analytics: Product ${newRow.product_id}, ordered, qty: ${newRow.quantity}`);
  return {
    action: 'item_added',
    order_id: newRow.order_id,
    product_id: newRow.product_id,
    quantity: newRow.quantity,
  };
}

function inventoryChange(op, oldRow, newRow) {
  if (op !== 'UPDATE') return null;
  const oldStock = oldRow.stock_quantity ?? 0;
  const newStock = newRow.stock_quantity ?? 0;
  if (newStock <= (newRow.low_stock_threshold ?? 5))
    log.warning(`Low stock alert: Product ${newRow.product_id}, Stock: ${newRow.stock_quantity}`);
  return { action: 'inventory_updated', product_id: newRow.product_id, old_stock: oldStock, new_stock: newStock };
}

function processChange(event) {
  const oldRow = event.old || {};
  const newRow = event.new || {};
  if (event.op === 'SCHEMA_CHANGE') return { processed: false, reason: 'schema change' };
  switch (event.table) {
    case 'orders':
      return orderChange(event.op, oldRow, newRow);
    case 'order_items':
      return orderItemChange(event.op, oldRow, newRow);
    case 'inventory':
      return inventoryChange(event.op, oldRow, newRow);
    default:
      return { processed: false, reason: 'Unknown table' };
  }
}

print('🚀 E-commerce CDC Worker started (Node)');
print('📊 Monitoring: orders, order_items, inventory');
print('Press Ctrl+C to stop...');
print();

let handled = 0;
let rest = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (rest + chunk).split('\n');
  rest = lines.pop();
  for (const line of lines) {
    try {
      const event = JSON.parse(line);
      print(`✅ Processed ${event.op} on ${event.table}: ${JSON.stringify(processChange(event))}`);
    } catch (e) {
      print(`❌ Error processing change: ${e.message}`);
    }
    handled++;
  }
  // Everything read so far is handled: say so, once per chunk (synchronously, in order).
  fs.writeSync(1, `${handled}\n`);
});
process.stdin.on('end', () => print('👋 CDC Worker stopped'));
