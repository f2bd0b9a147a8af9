//! The pure fold that rebuilds an order from its events.
//!
//! `apply` records facts: events already happened, so it never rejects one for business
//! reasons (that is the commands' job). It only refuses what would make the state a lie: an
//! event out of sequence, for another order, or arithmetic that would overflow.

use super::events::{OrderEvent, RecordedEvent};
use super::money::Money;
use super::order::{LineItem, Order, OrderStatus, Payment, Shipment, ShippingUpdate};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FoldError {
    #[error("event {found} does not follow version {version} of order {order_id}")]
    OutOfSequence { order_id: String, version: u64, found: u64 },
    #[error("event of order {found} applied to order {order_id}")]
    WrongOrder { order_id: String, found: String },
    #[error("amounts of order {order_id} overflow at event {sequence}")]
    Overflow { order_id: String, sequence: u64 },
}

impl FoldError {
    /// The refusal's stable code, the same in every implementation of the contract.
    pub fn code(&self) -> &'static str {
        match self {
            FoldError::OutOfSequence { .. } => "out_of_sequence",
            FoldError::WrongOrder { .. } => "wrong_order",
            FoldError::Overflow { .. } => "amount_overflow",
        }
    }
}

impl Order {
    /// Folds events onto this state; on error the state is left as it was before the
    /// failing event.
    pub fn apply_all<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a RecordedEvent>,
    ) -> Result<(), FoldError> {
        events.into_iter().try_for_each(|e| self.apply(e))
    }

    /// Full replay: the empty order folded with `events`.
    pub fn replay<'a>(
        id: &str,
        events: impl IntoIterator<Item = &'a RecordedEvent>,
    ) -> Result<Self, FoldError> {
        let mut order = Order::empty(id);
        order.apply_all(events)?;
        Ok(order)
    }

    pub fn apply(&mut self, recorded: &RecordedEvent) -> Result<(), FoldError> {
        if recorded.order_id != self.id {
            return Err(FoldError::WrongOrder {
                order_id: self.id.clone(),
                found: recorded.order_id.clone(),
            });
        }
        if Some(recorded.sequence) != self.version.checked_add(1) {
            return Err(FoldError::OutOfSequence {
                order_id: self.id.clone(),
                version: self.version,
                found: recorded.sequence,
            });
        }
        // In place: `apply_fact` checks every sum before it changes anything, so a refused
        // event leaves the state as it was without a copy of it (a copy per event made
        // replaying a large order quadratic).
        self.apply_fact(&recorded.event, recorded.occurred_at)
            .ok_or_else(|| FoldError::Overflow { order_id: self.id.clone(), sequence: recorded.sequence })?;
        self.version = recorded.sequence;
        self.last_event_id = Some(recorded.event_id.clone());
        self.updated_at = Some(recorded.occurred_at);
        Ok(())
    }

    /// Applies one fact; `None` only on arithmetic overflow, and then nothing has changed.
    fn apply_fact(&mut self, event: &OrderEvent, at: i64) -> Option<()> {
        match event {
            OrderEvent::OrderCreated { customer_id, currency } => {
                self.customer_id = Some(customer_id.clone());
                self.currency = Some(currency.clone());
                self.status = OrderStatus::Pending;
                self.created_at = Some(at);
            }
            OrderEvent::ItemAdded { sku, name, quantity, unit_price } => {
                let existing = self.items.iter().position(|i| &i.sku == sku);
                let quantity = match existing {
                    Some(at) => self.items[at].quantity.checked_add(*quantity)?,
                    None => *quantity,
                };
                let total = total_with(&self.items, sku, Some((quantity, *unit_price)))?;
                match existing {
                    Some(at) => {
                        let item = &mut self.items[at];
                        item.quantity = quantity;
                        item.unit_price = *unit_price;
                        item.name = name.clone();
                    }
                    None => self.items.push(LineItem {
                        sku: sku.clone(),
                        name: name.clone(),
                        quantity,
                        unit_price: *unit_price,
                    }),
                }
                self.items.retain(|i| i.quantity > 0);
                self.total = total;
            }
            OrderEvent::ItemRemoved { sku } => {
                self.total = total_with(&self.items, sku, None)?;
                self.items.retain(|i| &i.sku != sku);
            }
            OrderEvent::ItemQuantityChanged { sku, quantity } => {
                if let Some(at) = self.items.iter().position(|i| &i.sku == sku) {
                    let line = (*quantity, self.items[at].unit_price);
                    self.total = total_with(&self.items, sku, Some(line))?;
                    self.items[at].quantity = *quantity;
                    self.items.retain(|i| i.quantity > 0);
                }
            }
            OrderEvent::ShippingAddressSet { address } => {
                self.shipping_address = Some(address.clone());
            }
            OrderEvent::PaymentAuthorized { payment_id, amount, method } => {
                match self.payment_mut(payment_id) {
                    Some(p) => p.authorized = p.authorized.checked_add(*amount)?,
                    None => self.payments.push(Payment {
                        payment_id: payment_id.clone(),
                        method: method.clone(),
                        authorized: *amount,
                        captured: Money::ZERO,
                        refunded: Money::ZERO,
                    }),
                }
            }
            OrderEvent::PaymentCaptured { payment_id, amount } => {
                if let Some(p) = self.payment_mut(payment_id) {
                    p.captured = p.captured.checked_add(*amount)?;
                }
            }
            OrderEvent::PaymentRefunded { payment_id, amount, .. } => {
                if let Some(p) = self.payment_mut(payment_id) {
                    p.refunded = p.refunded.checked_add(*amount)?;
                }
            }
            OrderEvent::OrderConfirmed {} => self.status = OrderStatus::Confirmed,
            OrderEvent::OrderShipped { carrier, tracking_number } => {
                self.status = OrderStatus::Shipped;
                self.shipment = Some(Shipment {
                    carrier: carrier.clone(),
                    tracking_number: tracking_number.clone(),
                    shipped_at: at,
                    updates: Vec::new(),
                    delivered_at: None,
                });
            }
            OrderEvent::ShippingUpdated { status, location } => {
                if let Some(s) = self.shipment.as_mut() {
                    s.updates.push(ShippingUpdate { at, status: status.clone(), location: location.clone() });
                }
            }
            OrderEvent::OrderDelivered {} => {
                self.status = OrderStatus::Delivered;
                if let Some(s) = self.shipment.as_mut() {
                    s.delivered_at = Some(at);
                }
            }
            OrderEvent::OrderCancelled { reason } => {
                self.status = OrderStatus::Cancelled;
                self.cancellation_reason = Some(reason.clone());
            }
            OrderEvent::OrderReturned { reason } => {
                self.status = OrderStatus::Returned;
                self.return_reason = Some(reason.clone());
            }
        }
        Some(())
    }

    fn payment_mut(&mut self, payment_id: &str) -> Option<&mut Payment> {
        self.payments.iter_mut().find(|p| p.payment_id == payment_id)
    }
}

/// The total the items would have with `sku`'s line set to `(quantity, unit price)` (added
/// at the end when absent; `None`: removed), computed before anything changes and summed in
/// the items' order, as the state will hold them.
fn total_with(items: &[LineItem], sku: &str, line: Option<(u32, Money)>) -> Option<Money> {
    let mut total = Money::ZERO;
    let mut seen = false;
    for item in items {
        let (quantity, price) = if item.sku == sku {
            seen = true;
            match line {
                Some(line) => line,
                None => continue,
            }
        } else {
            (item.quantity, item.unit_price)
        };
        total = total.checked_add(price.checked_mul(quantity)?)?;
    }
    match line {
        Some((quantity, price)) if !seen => total.checked_add(price.checked_mul(quantity)?),
        _ => Some(total),
    }
}

#[cfg(test)]
mod tests;
