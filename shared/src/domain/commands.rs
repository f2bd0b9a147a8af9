//! What callers ask an order to do. `Order::decide` checks the business rules against the
//! current state and answers with the events to append; it never changes the state itself.

use super::events::{Address, OrderEvent};
use super::money::Money;
use super::order::{Order, OrderStatus};
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderCommand {
    Create { customer_id: String, currency: String },
    AddItem { sku: String, name: String, quantity: u32, unit_price: Money },
    RemoveItem { sku: String },
    ChangeQuantity { sku: String, quantity: u32 },
    SetShippingAddress { address: Address },
    AuthorizePayment { payment_id: String, amount: Money, method: String },
    CapturePayment { payment_id: String, amount: Money },
    RefundPayment { payment_id: String, amount: Money, reason: String },
    Confirm,
    Ship { carrier: String, tracking_number: String },
    UpdateShipping { status: String, location: Option<String> },
    Deliver,
    Cancel { reason: String },
    Return { reason: String },
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("order already exists")]
    AlreadyCreated,
    #[error("order is {0:?}; that is not allowed now")]
    InvalidStatus(OrderStatus),
    #[error("{0}")]
    Invalid(&'static str),
    #[error("no line item with sku {0:?}")]
    UnknownItem(String),
    #[error("no payment {0:?}")]
    UnknownPayment(String),
    #[error("amount exceeds what is {0}")]
    AmountTooLarge(&'static str),
}

impl Order {
    pub fn decide(&self, command: OrderCommand) -> Result<Vec<OrderEvent>, DomainError> {
        use DomainError as E;
        use OrderStatus as S;
        let require = |allowed: &[OrderStatus]| {
            if allowed.contains(&self.status) { Ok(()) } else { Err(E::InvalidStatus(self.status)) }
        };
        let non_empty = |s: &str, what: &'static str| {
            if s.trim().is_empty() { Err(E::Invalid(what)) } else { Ok(()) }
        };
        let positive = |m: Money| {
            if m > Money::ZERO { Ok(()) } else { Err(E::Invalid("amount must be positive")) }
        };
        let event = match command {
            OrderCommand::Create { customer_id, currency } => {
                if self.status != S::Draft {
                    return Err(E::AlreadyCreated);
                }
                non_empty(&customer_id, "customer id is required")?;
                if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
                    return Err(E::Invalid("currency must be an ISO 4217 code"));
                }
                OrderEvent::OrderCreated { customer_id, currency }
            }
            OrderCommand::AddItem { sku, name, quantity, unit_price } => {
                require(&[S::Pending])?;
                non_empty(&sku, "sku is required")?;
                if quantity == 0 {
                    return Err(E::Invalid("quantity must be positive"));
                }
                if unit_price < Money::ZERO {
                    return Err(E::Invalid("unit price must not be negative"));
                }
                OrderEvent::ItemAdded { sku, name, quantity, unit_price }
            }
            OrderCommand::RemoveItem { sku } => {
                require(&[S::Pending])?;
                self.item_exists(&sku)?;
                OrderEvent::ItemRemoved { sku }
            }
            OrderCommand::ChangeQuantity { sku, quantity } => {
                require(&[S::Pending])?;
                self.item_exists(&sku)?;
                OrderEvent::ItemQuantityChanged { sku, quantity }
            }
            OrderCommand::SetShippingAddress { address } => {
                require(&[S::Pending, S::Confirmed])?;
                non_empty(&address.line1, "address line1 is required")?;
                OrderEvent::ShippingAddressSet { address }
            }
            OrderCommand::AuthorizePayment { payment_id, amount, method } => {
                require(&[S::Pending, S::Confirmed])?;
                non_empty(&payment_id, "payment id is required")?;
                positive(amount)?;
                OrderEvent::PaymentAuthorized { payment_id, amount, method }
            }
            OrderCommand::CapturePayment { payment_id, amount } => {
                positive(amount)?;
                let p = self.payment(&payment_id).ok_or_else(|| E::UnknownPayment(payment_id.clone()))?;
                if p.captured.checked_add(amount).is_none_or(|c| c > p.authorized) {
                    return Err(E::AmountTooLarge("authorized"));
                }
                OrderEvent::PaymentCaptured { payment_id, amount }
            }
            OrderCommand::RefundPayment { payment_id, amount, reason } => {
                positive(amount)?;
                let p = self.payment(&payment_id).ok_or_else(|| E::UnknownPayment(payment_id.clone()))?;
                if p.refunded.checked_add(amount).is_none_or(|r| r > p.captured) {
                    return Err(E::AmountTooLarge("captured"));
                }
                OrderEvent::PaymentRefunded { payment_id, amount, reason }
            }
            OrderCommand::Confirm => {
                require(&[S::Pending])?;
                if self.items.is_empty() {
                    return Err(E::Invalid("an order needs at least one item to be confirmed"));
                }
                OrderEvent::OrderConfirmed {}
            }
            OrderCommand::Ship { carrier, tracking_number } => {
                require(&[S::Confirmed])?;
                if self.shipping_address.is_none() {
                    return Err(E::Invalid("a shipping address is required to ship"));
                }
                OrderEvent::OrderShipped { carrier, tracking_number }
            }
            OrderCommand::UpdateShipping { status, location } => {
                require(&[S::Shipped])?;
                non_empty(&status, "shipping status is required")?;
                OrderEvent::ShippingUpdated { status, location }
            }
            OrderCommand::Deliver => {
                require(&[S::Shipped])?;
                OrderEvent::OrderDelivered {}
            }
            OrderCommand::Cancel { reason } => {
                require(&[S::Pending, S::Confirmed])?;
                OrderEvent::OrderCancelled { reason }
            }
            OrderCommand::Return { reason } => {
                require(&[S::Delivered])?;
                OrderEvent::OrderReturned { reason }
            }
        };
        Ok(vec![event])
    }

    fn item_exists(&self, sku: &str) -> Result<(), DomainError> {
        if self.items.iter().any(|i| i.sku == sku) {
            Ok(())
        } else {
            Err(DomainError::UnknownItem(sku.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created() -> Order {
        let mut order = Order::empty("o-1");
        order.status = OrderStatus::Pending;
        order
    }

    #[test]
    fn create_twice_is_refused() {
        let order = created();
        let again = OrderCommand::Create { customer_id: "c".into(), currency: "EUR".into() };
        assert_eq!(order.decide(again), Err(DomainError::AlreadyCreated));
    }

    #[test]
    fn items_cannot_change_after_confirmation() {
        let mut order = created();
        order.status = OrderStatus::Confirmed;
        let add = OrderCommand::AddItem {
            sku: "a".into(),
            name: "A".into(),
            quantity: 1,
            unit_price: Money::from_minor(1),
        };
        assert_eq!(order.decide(add), Err(DomainError::InvalidStatus(OrderStatus::Confirmed)));
    }

    #[test]
    fn capture_cannot_exceed_authorization() {
        let mut order = created();
        order.payments.push(crate::domain::Payment {
            payment_id: "p".into(),
            method: "card".into(),
            authorized: Money::from_minor(100),
            captured: Money::from_minor(60),
            refunded: Money::ZERO,
        });
        let capture =
            |m| OrderCommand::CapturePayment { payment_id: "p".into(), amount: Money::from_minor(m) };
        assert_eq!(order.decide(capture(41)), Err(DomainError::AmountTooLarge("authorized")));
        assert!(order.decide(capture(40)).is_ok());
    }

    #[test]
    fn confirm_needs_items_and_ship_needs_an_address() {
        let order = created();
        assert!(matches!(order.decide(OrderCommand::Confirm), Err(DomainError::Invalid(_))));
        let mut confirmed = created();
        confirmed.status = OrderStatus::Confirmed;
        let ship = OrderCommand::Ship { carrier: "UPS".into(), tracking_number: "1Z".into() };
        assert!(matches!(confirmed.decide(ship), Err(DomainError::Invalid(_))));
    }
}
