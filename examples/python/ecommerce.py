#!/usr/bin/env python3
"""The seed's e-commerce CDC worker, as a pgcdc handler (standard library only).

pgcdc streams the changes and keeps the slot; this program is the worker's
process_change and its per-table, per-operation methods. pgcdc starts it and
speaks handler protocol 1 with it (docs/HANDLERS.md): one JSON event per line
on its standard input; on its standard output, after what it read is handled,
the count of lines handled so far. pgcdc confirms nothing past that count: if
this program dies, pgcdc starts it again and gives it what it had not counted.

    pgcdc -d "host=localhost dbname=ecommerce user=cdc_user" \\
          -S ecommerce_cdc_slot -P ecommerce_publication \\
          -t orders -t order_items -t inventory \\
          --exec "python3 examples/python/ecommerce.py"

Its prints and logs go to standard error, which is pgcdc's: standard output
belongs to the protocol.
"""

import json
import logging
import os
import sys
from decimal import Decimal
from enum import Enum


class ChangeType(Enum):
    INSERT = "INSERT"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    TRUNCATE = "TRUNCATE"
    READ = "READ"  # a row of an initial snapshot (--snapshot initial)
    SCHEMA_CHANGE = "SCHEMA_CHANGE"  # the table's columns changed (no rows)


class DatabaseChange:
    """One change, from one line of pgcdc's JSON format (docs/FORMATS.md)."""

    def __init__(self, event: dict):
        self.change_type = ChangeType(event["op"])
        self.schema = event.get("schema")
        self.table = event.get("table")
        self.new_data = event.get("new") or {}
        self.old_data = event.get("old") or {}
        self.xid = event.get("xid")
        self.commit_lsn = event.get("commit_lsn")


class Handler:
    """Protocol 1: events in on stdin, counts out on stdout, everything else on stderr."""

    def __init__(self):
        if os.environ.get("PGCDC_HANDLER_PROTOCOL") != "1":
            sys.exit("ecommerce.py: run me with pgcdc --exec (handler protocol 1)")
        # The count goes to the real stdout; prints, and anything else that writes to
        # file descriptor 1, go to stderr instead, where they cannot break the protocol.
        self._acks = os.dup(1)
        os.dup2(2, 1)
        sys.stdout.reconfigure(line_buffering=True)
        self.handled = 0

    def events(self):
        """Each event read, as a dict (numbers with a fraction as Decimal, exactly)."""
        rest = b""
        while True:
            data = os.read(0, 1 << 16)
            if not data:
                return
            *lines, rest = (rest + data).split(b"\n")
            for line in lines:
                yield json.loads(line, parse_float=Decimal)
                self.handled += 1
            # Everything read so far is handled: say so, once per read.
            os.write(self._acks, b"%d\n" % self.handled)


class ECommerceCDCWorker:
    """E-commerce CDC worker that processes order changes"""

    def __init__(self):
        # Connection, tables, slot and publication are pgcdc's options (see above).
        self.tables = ["orders", "order_items", "inventory"]
        self.logger = logging.getLogger("ecommerce")

    def process_change(self, change: DatabaseChange):
        """Process database changes based on table and operation"""

        if change.change_type == ChangeType.SCHEMA_CHANGE:
            self.logger.warning(f"Columns of {change.table} changed: check the handlers of it")
            return {"processed": False, "reason": "schema change"}
        if change.table == "orders":
            return self._process_order_change(change)
        elif change.table == "order_items":
            return self._process_order_item_change(change)
        elif change.table == "inventory":
            return self._process_inventory_change(change)

        return {"processed": False, "reason": "Unknown table"}

    def _process_order_change(self, change: DatabaseChange) -> dict:
        """Process order table changes"""

        if change.change_type == ChangeType.INSERT:
            order_data = change.new_data
            self.logger.info(f"New order created: {order_data.get('id')}")
            self._send_order_confirmation(order_data)
            self._reserve_inventory(order_data["id"])
            return {
                "action": "new_order_processed",
                "order_id": order_data.get("id"),
                "customer_email": order_data.get("customer_email"),
                "total_amount": order_data.get("total_amount"),
            }

        elif change.change_type == ChangeType.UPDATE:
            old_status = change.old_data.get("status")
            new_status = change.new_data.get("status")
            if old_status != new_status:
                self.logger.info(
                    f"Order {change.new_data.get('id')} status: {old_status} → {new_status}"
                )
                self._handle_status_change(change.new_data, old_status, new_status)
            return {
                "action": "status_change",
                "order_id": change.new_data.get("id"),
                "old_status": old_status,
                "new_status": new_status,
            }

        elif change.change_type == ChangeType.DELETE:
            order_data = change.old_data
            self.logger.info(f"Order deleted: {order_data.get('id')}")
            self._release_inventory(order_data["id"])
            return {"action": "order_deleted", "order_id": order_data.get("id")}

    def _process_order_item_change(self, change: DatabaseChange) -> dict:
        """Process order items changes"""

        if change.change_type == ChangeType.INSERT:
            item_data = change.new_data
            self._update_product_analytics(
                product_id=item_data.get("product_id"),
                quantity=item_data.get("quantity"),
                action="ordered",
            )
            return {
                "action": "item_added",
                "order_id": item_data.get("order_id"),
                "product_id": item_data.get("product_id"),
                "quantity": item_data.get("quantity"),
            }

    def _process_inventory_change(self, change: DatabaseChange) -> dict:
        """Process inventory changes"""

        if change.change_type == ChangeType.UPDATE:
            old_stock = change.old_data.get("stock_quantity", 0)
            new_stock = change.new_data.get("stock_quantity", 0)
            if new_stock <= change.new_data.get("low_stock_threshold", 5):
                self._send_low_stock_alert(change.new_data)
            return {
                "action": "inventory_updated",
                "product_id": change.new_data.get("product_id"),
                "old_stock": old_stock,
                "new_stock": new_stock,
            }

    # Business logic methods: where the email service, the inventory service and
    # the analytics would be called.
    def _send_order_confirmation(self, order_data: dict):
        self.logger.info(f"Sending confirmation email to {order_data.get('customer_email')}")

    def _reserve_inventory(self, order_id):
        self.logger.info(f"Reserving inventory for order {order_id}")

    def _release_inventory(self, order_id):
        self.logger.info(f"Releasing inventory for order {order_id}")

    def _handle_status_change(self, order_data: dict, old_status, new_status):
        status_handlers = {
            "paid": self._handle_payment_received,
            "shipped": self._handle_order_shipped,
            "delivered": self._handle_order_delivered,
            "cancelled": self._handle_order_cancelled,
        }
        handler = status_handlers.get(new_status)
        if handler:
            handler(order_data)

    def _handle_payment_received(self, order_data: dict):
        self.logger.info(f"Payment received for order {order_data.get('id')}")

    def _handle_order_shipped(self, order_data: dict):
        self.logger.info(f"Order {order_data.get('id')} shipped")

    def _handle_order_delivered(self, order_data: dict):
        self.logger.info(f"Order {order_data.get('id')} delivered")

    def _handle_order_cancelled(self, order_data: dict):
        self.logger.info(f"Order {order_data.get('id')} cancelled")

    def _update_product_analytics(self, product_id, quantity, action):
        self.logger.debug(f"Analytics: Product {product_id}, {action}, qty: {quantity}")

    def _send_low_stock_alert(self, inventory_data: dict):
        product_id = inventory_data.get("product_id")
        current_stock = inventory_data.get("stock_quantity")
        self.logger.warning(f"Low stock alert: Product {product_id}, Stock: {current_stock}")


def main():
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s: %(message)s")
    handler = Handler()
    worker = ECommerceCDCWorker()

    print("🚀 E-commerce CDC Worker started")
    print(f"📊 Monitoring: {', '.join(worker.tables)}")
    print("📧 Features: Email confirmation, inventory tracking, analytics")
    print("Press Ctrl+C to stop...")
    print()
    try:
        for event in handler.events():
            try:
                change = DatabaseChange(event)
                result = worker.process_change(change)
                print(f"✅ Processed {change.change_type.value} on {change.table}: {result}")
            except Exception as e:
                # As the seed does: reported, and counted as handled. To have pgcdc give
                # the change again (and apply its error policy), exit here instead.
                print(f"❌ Error processing change: {e}")
                worker.logger.error(f"Processing error: {e}")
    except KeyboardInterrupt:
        print("\n🛑 Worker stopped by user")
    print("👋 CDC Worker stopped")


if __name__ == "__main__":
    main()
